-- Five mails of every kind, one after the other on one connection: each
-- gets its own answer, and nothing of one (recipients, fields, body,
-- changes) carries into the next.
local t = dofile(lib)
mt.set_timeout(60)
local mails = t.customer_mails()
local conn = t.connect()

-- 1. Outbound, MUST_ENCRYPT, no certificate for the recipient: refused,
-- naming them.
t.send_statement(conn, "auditor@regulator.example")
t.eom(conn, SMFIR_REPLYCODE, "mail 1 (MUST_ENCRYPT)")
t.check_refused(conn, "auditor@regulator.example", "mail 1")

-- 2. Inbound, encrypted to the bank: decrypted.
t.send_customer_mail(conn, mails.encrypted_fields, mails.encrypted_body)
t.eom(conn, SMFIR_CONTINUE, "mail 2 (inbound encrypted)")
t.check_decrypted(conn, mails, "mail 2")

-- 3. Neither outbound nor inbound: passed unchanged.
t.envelope(conn, "someone@elsewhere.example", { "other@example.net" })
t.headers(conn, { { "From", "someone@elsewhere.example" }, { "Subject", "relay" } })
t.body(conn, "Not the bank's.\r\n")
t.eom(conn, SMFIR_CONTINUE, "mail 3 (neither)")
t.check_unchanged(conn, "mail 3")

-- 4. Outbound to a NONE domain: unchanged. Had mail 1's recipient stayed,
-- MUST_ENCRYPT would refuse it.
t.send_statement(conn, "news@lists.example")
t.eom(conn, SMFIR_CONTINUE, "mail 4 (NONE)")
t.check_unchanged(conn, "mail 4")

-- 5. Inbound, signed: verified, this host's result at the top. Had mail
-- 2's body or fields stayed, the signature would not verify.
t.send_customer_mail(conn, mails.signed_fields, mails.signed_body)
t.eom(conn, SMFIR_CONTINUE, "mail 5 (inbound signed)")
t.check_smime_pass(conn, "customer@example.org", "mail 5")
t.check(not mt.eom_check(conn, MT_BODYCHANGE), "mail 5: the signed body was replaced")

-- 6. Mail 1 again: still refused (the refusal is the policy's, not chance).
t.send_statement(conn, "auditor@regulator.example")
t.eom(conn, SMFIR_REPLYCODE, "mail 6 (MUST_ENCRYPT again)")
t.check_refused(conn, "auditor@regulator.example", "mail 6")

mt.disconnect(conn)
mt.echo("transactions: 6 mails on one connection as expected")
