-- max_message_bytes is 65536 here, counted as signet-milter counts (each
-- field's name and value plus 4, then the body): a mail of exactly the
-- limit passes, one byte more is refused with 552 in the body phase, and
-- the next mail on the same connection starts from zero.
local t = dofile(lib)
mt.set_timeout(60)
local mails = t.customer_mails()
local limit = 65536

local function body_of_length(length)
  local line = string.rep("x", 78) .. "\r\n"
  local body = string.rep(line, length // #line)
  return body .. string.rep("y", length - #body)
end

local fields = t.statement("news@lists.example")
local header_bytes = 0
for _, field in ipairs(fields) do
  header_bytes = header_bytes + #field[1] + #field[2] + 4
end

local conn = t.connect()

-- Exactly the limit: passes (NONE: unchanged).
t.envelope(conn, "statements@bank.example", { "news@lists.example" })
t.headers(conn, fields)
t.body(conn, body_of_length(limit - header_bytes), 4000)
t.eom(conn, SMFIR_CONTINUE, "a mail of exactly the limit")
t.check_unchanged(conn, "a mail of exactly the limit")

-- One byte more: refused at the chunk that crosses it.
local body = body_of_length(limit - header_bytes + 1)
t.envelope(conn, "statements@bank.example", { "news@lists.example" })
t.headers(conn, fields)
local refused_at = nil
for offset = 1, #body, 4000 do
  t.ok(mt.bodystring(conn, body:sub(offset, offset + 3999)), "mt.bodystring")
  local reply = mt.getreply(conn)
  if reply ~= SMFIR_CONTINUE then
    t.check(reply == SMFIR_REPLYCODE,
            "over the limit: answered " .. t.reply_name(reply) .. ", expected a reply code")
    refused_at = offset
    break
  end
end
t.check(refused_at ~= nil, "a mail one byte over the limit was not refused")
t.check(refused_at + 3999 >= #body, "refused before the limit, at byte " .. refused_at)
t.ok(mt.abort(conn), "mt.abort after the refusal")

-- The next mail on the connection: its size counted afresh.
t.send_customer_mail(conn, mails.encrypted_fields, mails.encrypted_body)
t.eom(conn, SMFIR_CONTINUE, "the encrypted mail after the refusal")
t.check_decrypted(conn, mails, "the encrypted mail after the refusal")
mt.disconnect(conn)
mt.echo("oversized: the limit exact, the next mail counted afresh")
