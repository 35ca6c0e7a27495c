-- Mails aborted (RSET, or the client giving up) after the header and in the
-- middle of the body, each followed on the same connection by a mail whose
-- result would differ had anything of the aborted one stayed.
local t = dofile(lib)
mt.set_timeout(60)
local mails = t.customer_mails()
local conn = t.connect()

-- Aborted after the header: a MUST_ENCRYPT recipient without a certificate.
t.envelope(conn, "statements@bank.example",
           { "auditor@regulator.example", "news@lists.example" })
t.headers(conn, t.statement("auditor@regulator.example"))
t.ok(mt.abort(conn), "mt.abort after the header")

-- Next: only the NONE recipient. With the aborted recipient it would be
-- refused (550 naming auditor@regulator.example).
t.send_statement(conn, "news@lists.example")
t.eom(conn, SMFIR_CONTINUE, "the mail after the abort")
t.check_unchanged(conn, "the mail after the abort")

-- Aborted in the middle of an encrypted body.
t.send_customer_mail(conn, mails.encrypted_fields,
                     mails.encrypted_body:sub(1, #mails.encrypted_body // 2), 100)
t.ok(mt.abort(conn), "mt.abort in the body")

-- Next: the whole encrypted mail. A leftover half body in front would not
-- decrypt.
t.send_customer_mail(conn, mails.encrypted_fields, mails.encrypted_body)
t.eom(conn, SMFIR_CONTINUE, "the encrypted mail after the abort")
t.check_decrypted(conn, mails, "the encrypted mail after the abort")

-- Aborted right after MAIL FROM and RCPT TO, twice in a row.
t.envelope(conn, "statements@bank.example", { "auditor@regulator.example" })
t.ok(mt.abort(conn), "mt.abort after RCPT TO")
t.envelope(conn, "customer@example.org", { "secure@bank.example" })
t.ok(mt.abort(conn), "mt.abort after RCPT TO, again")

-- Then the signed mail: verified as if it were the first.
t.send_customer_mail(conn, mails.signed_fields, mails.signed_body)
t.eom(conn, SMFIR_CONTINUE, "the signed mail after two aborts")
t.check_smime_pass(conn, "customer@example.org", "the signed mail after two aborts")

mt.disconnect(conn)
mt.echo("abort: each mail after an abort as if it were the first")
