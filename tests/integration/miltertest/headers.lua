-- Folded fields, odd whitespace, an empty value and a folded Content-Type
-- on an encrypted inbound mail, with forged Authentication-Results in
-- several spellings among honest ones from other hosts. Only the MIME
-- fields may change; exactly the fields claiming this host's authserv-id
-- (mx.bank.example) are deleted, by their index among the
-- Authentication-Results fields.
local t = dofile(lib)
mt.set_timeout(60)
local mails = t.customer_mails()
local conn = t.connect()

local results = {
  -- { value, forged? }
  { "mx.bank.example; smime=pass header.smime-identifier=ceo@bank.example", true },
  { "other.example; smime=pass body.smime-identifier=customer@example.org", false },
  { "\n\tMX.Bank.Example;\n\tsmime=pass", true },
  { "(says who) \"mx.bank.example\"; smime=pass", true },
  { "mx.bank.example.evil; smime=pass", false },
  { "  mx.bank.example  ; dkim=pass", true },
  { "mx.bank.examplex; spf=pass", false },
}
local odd = {
  { "Subject", "Your account,\n\t folded  over\n three lines  " },
  { "X-Odd", "\t tabs\tand  spaces \t" },
  { "X-Empty", "" },
  { "X-Long", string.rep("word ", 150) },
}

local fields = {}
for _, field in ipairs(mails.encrypted_fields) do
  if field[1] == "Subject" then
    -- replaced by the folded one below
  elseif field[1] == "Content-Type" then
    -- Folded after each parameter: still an encrypted mail.
    fields[#fields + 1] = { field[1], (field[2]:gsub(";%s*", ";\n\t")) }
  else
    fields[#fields + 1] = field
  end
end
for _, field in ipairs(odd) do
  fields[#fields + 1] = field
end
for _, result in ipairs(results) do
  fields[#fields + 1] = { "Authentication-Results", result[1] }
end

t.send_customer_mail(conn, fields, mails.encrypted_body)
t.eom(conn, SMFIR_CONTINUE, "encrypted mail with odd fields")
t.check_decrypted(conn, mails, "encrypted mail with odd fields")

for index, result in ipairs(results) do
  local deleted = mt.eom_check(conn, MT_HDRDELETE, "Authentication-Results", index)
  if result[2] then
    t.check(deleted, "forged Authentication-Results " .. index .. " kept: " .. result[1])
  else
    t.check(not deleted, "honest Authentication-Results " .. index .. " deleted: " .. result[1])
  end
end
for _, name in ipairs({ "Subject", "X-Odd", "X-Empty", "X-Long", "From", "To", "Message-ID" }) do
  t.check(not mt.eom_check(conn, MT_HDRCHANGE, name), name .. " was changed or deleted")
  t.check(not mt.eom_check(conn, MT_HDRADD, name), name .. " was added")
  t.check(not mt.eom_check(conn, MT_HDRINSERT, name), name .. " was inserted")
end

mt.disconnect(conn)
mt.echo("headers: odd fields kept, forged results deleted")
