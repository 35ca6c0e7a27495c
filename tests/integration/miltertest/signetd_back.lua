-- signetd running again: the milter's next calls reach it (no restart of
-- the milter, no stale connection): a refusal that needs signetd's
-- directory, a decryption and a verification.
local t = dofile(lib)
mt.set_timeout(60)
local mails = t.customer_mails()
local conn = t.connect()

-- MUST_ENCRYPT: signetd answers again that the recipient has no
-- certificate.
t.send_statement(conn, "auditor@regulator.example")
t.eom(conn, SMFIR_REPLYCODE, "MUST_ENCRYPT with signetd back")
t.check_refused(conn, "auditor@regulator.example", "MUST_ENCRYPT with signetd back")

t.send_customer_mail(conn, mails.encrypted_fields, mails.encrypted_body)
t.eom(conn, SMFIR_CONTINUE, "decryption with signetd back")
t.check_decrypted(conn, mails, "decryption with signetd back")

t.send_customer_mail(conn, mails.signed_fields, mails.signed_body)
t.eom(conn, SMFIR_CONTINUE, "verification with signetd back")
t.check_smime_pass(conn, "customer@example.org", "verification with signetd back")

mt.disconnect(conn)
mt.echo("signetd_back: directory look-up, decryption and verification work again")
