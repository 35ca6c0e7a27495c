-- signetd stopped: a mail the policy says to sign, encrypt or decrypt gets
-- a reply code (the C++ side reads the 451 in the milter's log) and no
-- change at all — never accepted as it is. What needs no signetd still
-- works: a forged result is deleted; a signature that cannot be checked is
-- delivered with smime=temperror.
local t = dofile(lib)
mt.set_timeout(60)
local mails = t.customer_mails()
local conn = t.connect()

local function deferred(what)
  t.expect_reply(conn, SMFIR_REPLYCODE, what)
  t.check_unchanged(conn, what)
  t.check(not mt.eom_check(conn, MT_HDRDELETE), what .. ": a field was deleted")
  t.check(not mt.eom_check(conn, MT_SMTPREPLY, "550", "5.7.1",
                           t.refused_for("auditor@regulator.example")),
          what .. ": refused instead of deferred")
end

-- SIGN.
t.envelope(conn, "statements@bank.example", { "someone@elsewhere.example" }, "DOWN-SIGN")
t.headers(conn, t.statement("someone@elsewhere.example"))
t.body(conn, t.statement_body)
t.ok(mt.eom(conn), "mt.eom")
deferred("SIGN with signetd stopped")

-- MUST_ENCRYPT: whether the recipient has a certificate is unknown.
t.envelope(conn, "statements@bank.example", { "auditor@regulator.example" }, "DOWN-ENCRYPT")
t.headers(conn, t.statement("auditor@regulator.example"))
t.body(conn, t.statement_body)
t.ok(mt.eom(conn), "mt.eom")
deferred("MUST_ENCRYPT with signetd stopped")

-- Inbound encrypted, the policy decrypts: not delivered encrypted.
t.send_customer_mail(conn, mails.encrypted_fields, mails.encrypted_body, nil, "DOWN-DECRYPT")
t.ok(mt.eom(conn), "mt.eom")
deferred("decryption with signetd stopped")

-- Inbound signed: delivered with temperror, the forged result deleted.
local fields = { { "Authentication-Results", "mx.bank.example; smime=pass" } }
for _, field in ipairs(mails.signed_fields) do
  fields[#fields + 1] = field
end
t.send_customer_mail(conn, fields, mails.signed_body, nil, "DOWN-VERIFY")
t.eom(conn, SMFIR_CONTINUE, "verification with signetd stopped")
t.check(mt.eom_check(conn, MT_HDRDELETE, "Authentication-Results", 1),
        "verification with signetd stopped: the forged result was kept")
local result = mt.getheader(conn, "Authentication-Results", 0)
t.check(result ~= nil and result:find("mx.bank.example; smime=temperror", 1, true) == 1,
        "verification with signetd stopped: got " .. tostring(result))
t.check(not mt.eom_check(conn, MT_BODYCHANGE), "verification with signetd stopped: body replaced")

mt.disconnect(conn)
mt.echo("signetd_down: deferred, never passed unchanged")
