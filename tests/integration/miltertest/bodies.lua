-- Empty (0-byte) and 8-bit bodies, inbound and outbound. (Outbound
-- signing is not here: miltertest 2.11.0~beta2 reads each milter reply
-- into a 1 KiB buffer and overruns it on a signed body; signet_milter_test
-- covers signing through Postfix.)
local t = dofile(lib)
mt.set_timeout(60)
local mails = t.customer_mails()
local conn = t.connect()
local eight_bit = "Gr\xc3\xbc\xc3\x9fe, Kontostand 1.234,56 \xe2\x82\xac\r\n\xff\xfe raw bytes\r\n"

-- Inbound, empty body, a forged result: the result goes, nothing else
-- changes.
t.envelope(conn, "customer@example.org", { "secure@bank.example" })
t.headers(conn, {
  { "From", "customer@example.org" },
  { "Authentication-Results", "mx.bank.example; smime=pass" },
  { "Subject", "(no body)" },
})
t.body(conn, "")
t.eom(conn, SMFIR_CONTINUE, "inbound, empty body")
t.check(mt.eom_check(conn, MT_HDRDELETE, "Authentication-Results", 1),
        "inbound, empty body: the forged result was kept")
t.check(not mt.eom_check(conn, MT_BODYCHANGE), "inbound, empty body: the body was replaced")
t.check(not mt.eom_check(conn, MT_HDRINSERT), "inbound, empty body: a field was inserted")

-- Inbound, 8-bit plain body: unchanged.
t.envelope(conn, "customer@example.org", { "secure@bank.example" })
t.headers(conn, { { "From", "customer@example.org" }, { "Subject", "8-bit" } })
t.body(conn, eight_bit, 5)
t.eom(conn, SMFIR_CONTINUE, "inbound, 8-bit body")
t.check_unchanged(conn, "inbound, 8-bit body")

-- Outbound, NONE, empty and 8-bit: unchanged.
for _, body in ipairs({ "", eight_bit }) do
  local what = "outbound NONE, " .. #body .. "-byte body"
  t.envelope(conn, "statements@bank.example", { "news@lists.example" })
  t.headers(conn, t.statement("news@lists.example"))
  t.body(conn, body)
  t.eom(conn, SMFIR_CONTINUE, what)
  t.check_unchanged(conn, what)
end

-- Inbound, encrypted, the entity's body empty: the body becomes empty
-- (not left as the ciphertext under the plaintext's Content-Type).
local empty_fields, empty_body = t.parse_mail(t.read_file(dir .. "/encrypted-empty.eml"))
t.send_customer_mail(conn, empty_fields, empty_body)
t.eom(conn, SMFIR_CONTINUE, "inbound encrypted, empty entity body")
t.check(mt.eom_check(conn, MT_HDRCHANGE, "Content-Type", "text/plain; charset=us-ascii"),
        "inbound encrypted, empty entity body: Content-Type not the entity's")
t.check(mt.eom_check(conn, MT_BODYCHANGE, ""),
        "inbound encrypted, empty entity body: the body was not emptied")

-- Inbound, encrypted and signed 8-bit entities: exact, and verified.
t.send_customer_mail(conn, mails.encrypted_fields, mails.encrypted_body)
t.eom(conn, SMFIR_CONTINUE, "inbound encrypted 8-bit")
t.check_decrypted(conn, mails, "inbound encrypted 8-bit")
t.send_customer_mail(conn, mails.signed_fields, mails.signed_body)
t.eom(conn, SMFIR_CONTINUE, "inbound signed 8-bit")
t.check_smime_pass(conn, "customer@example.org", "inbound signed 8-bit")

mt.disconnect(conn)
mt.echo("bodies: empty and 8-bit bodies as expected")
