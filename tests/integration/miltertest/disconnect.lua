-- Clients that go away in the middle of a mail — abruptly (the socket
-- closed) or politely (QUIT) — in the body, after the header, after RCPT
-- TO. The milter must stay up and serve the next connection as usual.
local t = dofile(lib)
mt.set_timeout(60)
local mails = t.customer_mails()
local half = mails.encrypted_body:sub(1, #mails.encrypted_body // 2)

-- Abruptly, in the middle of the body.
local conn = t.connect()
t.send_customer_mail(conn, mails.encrypted_fields, half, 50)
t.ok(mt.disconnect(conn, false), "abrupt disconnect in the body")

-- Politely, in the middle of the body.
conn = t.connect()
t.send_customer_mail(conn, mails.signed_fields, mails.signed_body:sub(1, 300), 10)
t.ok(mt.disconnect(conn, true), "QUIT in the body")

-- Abruptly after the header, and after RCPT TO.
conn = t.connect()
t.envelope(conn, "statements@bank.example", { "auditor@regulator.example" })
t.headers(conn, t.statement("auditor@regulator.example"))
t.ok(mt.disconnect(conn, false), "abrupt disconnect after the header")
conn = t.connect()
t.envelope(conn, "statements@bank.example", { "auditor@regulator.example" })
t.ok(mt.disconnect(conn, false), "abrupt disconnect after RCPT TO")

-- Several connections left half-way at once, then a full one next to them.
local open = {}
for i = 1, 5 do
  open[i] = t.connect()
  t.send_customer_mail(open[i], mails.encrypted_fields, half, 500)
end
conn = t.connect()
t.send_customer_mail(conn, mails.encrypted_fields, mails.encrypted_body)
t.eom(conn, SMFIR_CONTINUE, "a full mail beside half-sent ones")
t.check_decrypted(conn, mails, "a full mail beside half-sent ones")
for i = 1, 5 do
  t.ok(mt.disconnect(open[i], false), "abrupt disconnect " .. i)
end

-- Then business as usual on that connection, and on a new one.
t.send_statement(conn, "auditor@regulator.example")
t.eom(conn, SMFIR_REPLYCODE, "a refusal after the disconnects")
t.check_refused(conn, "auditor@regulator.example", "a refusal after the disconnects")
mt.disconnect(conn)

conn = t.connect()
t.send_customer_mail(conn, mails.signed_fields, mails.signed_body)
t.eom(conn, SMFIR_CONTINUE, "a signed mail on a new connection")
t.check_smime_pass(conn, "customer@example.org", "a signed mail on a new connection")
mt.disconnect(conn)
mt.echo("disconnect: the milter serves on after every kind of vanishing client")
