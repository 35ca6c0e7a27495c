-- The queue id (macro "i") is only for the log line: with it at MAIL FROM,
-- at RCPT TO, or not given at all, the mail gets the same answer. The C++
-- side checks the log lines.
local t = dofile(lib)
mt.set_timeout(60)
local mails = t.customer_mails()

local function refused_statement(conn, queue_id, rcpt_queue_id, what)
  if rcpt_queue_id ~= nil then
    t.ok(mt.macro(conn, SMFIC_RCPT, "i", rcpt_queue_id), "mt.macro(i) at RCPT")
  end
  t.envelope(conn, "statements@bank.example", { "auditor@regulator.example" }, queue_id)
  t.headers(conn, t.statement("auditor@regulator.example"))
  t.body(conn, t.statement_body)
  t.eom(conn, SMFIR_REPLYCODE, what)
  t.check_refused(conn, "auditor@regulator.example", what)
end

-- Without any "i", on a connection that never had one.
local conn = t.connect()
refused_statement(conn, nil, nil, "no queue id")
t.send_customer_mail(conn, mails.encrypted_fields, mails.encrypted_body)
t.eom(conn, SMFIR_CONTINUE, "encrypted, no queue id")
t.check_decrypted(conn, mails, "encrypted, no queue id")
mt.disconnect(conn)

conn = t.connect()
refused_statement(conn, "MTQ-WITH", nil, "queue id at MAIL FROM")
mt.disconnect(conn)

mt.echo("queue_id: the same answers with and without a queue id")
