-- The body in chunks of 1, 2, 7, 64 and 1000 bytes and in one: the milter
-- must put it back together byte for byte. A signed mail verifies only if
-- it did (signetd hashes what the milter reassembled), an encrypted one
-- decrypts to exactly the plaintext only if it did, and a body changed in
-- one byte must fail, which shows the check can fail.
local t = dofile(lib)
mt.set_timeout(60)
local mails = t.customer_mails()
local conn = t.connect()

for _, chunk in ipairs({ 1, 2, 7, 64, 1000, #mails.signed_body }) do
  local what = "signed body in chunks of " .. chunk
  t.send_customer_mail(conn, mails.signed_fields, mails.signed_body, chunk)
  t.eom(conn, SMFIR_CONTINUE, what)
  t.check_smime_pass(conn, "customer@example.org", what)
end

for _, chunk in ipairs({ 1, 3, 76, #mails.encrypted_body }) do
  local what = "encrypted body in chunks of " .. chunk
  t.send_customer_mail(conn, mails.encrypted_fields, mails.encrypted_body, chunk)
  t.eom(conn, SMFIR_CONTINUE, what)
  t.check_decrypted(conn, mails, what)
end

-- The control: "close" becomes "clos3" in the signed text.
local at = mails.signed_body:find("close my account", 1, true)
t.check(at ~= nil, "the signed body does not carry the text")
local tampered = mails.signed_body:sub(1, at + 3) .. "3" .. mails.signed_body:sub(at + 5)
t.send_customer_mail(conn, mails.signed_fields, tampered, 1)
t.eom(conn, SMFIR_CONTINUE, "tampered signed body")
local result = mt.getheader(conn, "Authentication-Results", 0)
t.check(result ~= nil and result:find("mx.bank.example; smime=fail", 1, true) == 1,
        "tampered signed body: expected smime=fail, got " .. tostring(result))

mt.disconnect(conn)
mt.echo("chunks: every split reassembled exactly")
