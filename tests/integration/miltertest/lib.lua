-- Helpers shared by the signet-milter miltertest scripts
-- (signet_milter_protocol_test.cc runs them). Each script starts with
--   local t = dofile(lib)
-- where `lib` (this file) and `socket` (the milter's, "unix:/path") come
-- from miltertest -D. Every step checks the milter's reply; any surprise is
-- error(), which makes miltertest exit non-zero and the test fail.
local t = {}

local names = {
  [SMFIR_CONTINUE] = "continue",
  [SMFIR_ACCEPT] = "accept",
  [SMFIR_REJECT] = "reject",
  [SMFIR_TEMPFAIL] = "tempfail",
  [SMFIR_DISCARD] = "discard",
  [SMFIR_REPLYCODE] = "replycode",
}

function t.reply_name(reply)
  return names[reply] or ("'" .. string.char(reply) .. "'")
end

-- miltertest's functions return nil on success, else an error text.
function t.ok(result, what)
  if result ~= nil then
    error(what .. ": " .. tostring(result), 2)
  end
end

function t.check(condition, what)
  if not condition then
    error(what, 2)
  end
end

function t.expect_reply(conn, want, what)
  local got = mt.getreply(conn)
  if got ~= want then
    error(what .. ": the milter answered " .. t.reply_name(got) .. ", expected " ..
          t.reply_name(want), 2)
  end
end

function t.connect()
  -- The milter is running already; a few tries cover its socket appearing.
  local conn = mt.connect(socket, 40, 0.25)
  t.check(conn ~= nil, "mt.connect(" .. tostring(socket) .. ") failed")
  t.ok(mt.conninfo(conn, "client.example", "192.0.2.25"), "mt.conninfo")
  t.expect_reply(conn, SMFIR_CONTINUE, "connect")
  return conn
end

-- MAIL FROM and each RCPT TO; `queue_id` (optional) as the "i" macro.
function t.envelope(conn, sender, recipients, queue_id)
  if queue_id ~= nil then
    t.ok(mt.macro(conn, SMFIC_MAIL, "i", queue_id), "mt.macro(i)")
  end
  t.ok(mt.mailfrom(conn, "<" .. sender .. ">"), "mt.mailfrom")
  t.expect_reply(conn, SMFIR_CONTINUE, "MAIL FROM " .. sender)
  for _, recipient in ipairs(recipients) do
    t.ok(mt.rcptto(conn, "<" .. recipient .. ">"), "mt.rcptto")
    t.expect_reply(conn, SMFIR_CONTINUE, "RCPT TO " .. recipient)
  end
end

-- Header fields as {name, value} pairs, then end of header.
function t.headers(conn, fields)
  for _, field in ipairs(fields) do
    t.ok(mt.header(conn, field[1], field[2]), "mt.header(" .. field[1] .. ")")
    t.expect_reply(conn, SMFIR_CONTINUE, "header " .. field[1])
  end
  -- signet-milter has no end-of-header callback, so libmilter asks not to
  -- be told.
  if not mt.test_option(conn, SMFIP_NOEOH) then
    t.ok(mt.eoh(conn), "mt.eoh")
    t.expect_reply(conn, SMFIR_CONTINUE, "end of header")
  end
end

-- The body in chunks of at most `chunk` bytes (all at once without one).
-- An empty body is no chunk at all, as Postfix sends it: mt.bodyfile of an
-- empty file (mt.eom alone would make a body up, and libmilter drops the
-- connection on an empty chunk).
function t.body(conn, body, chunk)
  if body == "" then
    t.ok(mt.bodyfile(conn, "/dev/null"), "mt.bodyfile(/dev/null)")
    return
  end
  chunk = chunk or #body
  for offset = 1, #body, chunk do
    t.ok(mt.bodystring(conn, body:sub(offset, offset + chunk - 1)), "mt.bodystring")
    t.expect_reply(conn, SMFIR_CONTINUE, "body chunk at byte " .. offset)
  end
end

function t.eom(conn, want, what)
  t.ok(mt.eom(conn), "mt.eom")
  t.expect_reply(conn, want, what)
end

function t.read_file(path)
  local file = assert(io.open(path, "rb"))
  local data = file:read("*a")
  file:close()
  return data
end

-- A mail file (CRLF line ends) as {name, value} fields, as Postfix hands
-- them over (no blank after the colon, folded lines joined by LF), and its
-- body.
function t.parse_mail(text)
  local split = text:find("\r\n\r\n", 1, true)
  t.check(split ~= nil, "no blank line in the mail file")
  local block = text:sub(1, split + 1)
  local body = text:sub(split + 4)
  local fields = {}
  for line in block:gmatch("(.-)\r\n") do
    if line:match("^[ \t]") then
      local last = fields[#fields]
      last[2] = last[2] .. "\n" .. line
    else
      local name, value = line:match("^([^:]+):[ \t]?(.*)$")
      t.check(name ~= nil, "not a header line: " .. line)
      fields[#fields + 1] = { name, value }
    end
  end
  return fields, body
end

-- The entity's body: what follows its blank line.
function t.body_of(entity)
  local split = entity:find("\r\n\r\n", 1, true)
  t.check(split ~= nil, "no blank line in the entity")
  return entity:sub(split + 4)
end

-- Nothing about the mail changed: no field added, inserted, changed or
-- deleted, no new body, no quarantine.
function t.check_unchanged(conn, what)
  t.check(not mt.eom_check(conn, MT_HDRADD), what .. ": a field was added")
  t.check(not mt.eom_check(conn, MT_HDRINSERT), what .. ": a field was inserted")
  t.check(not mt.eom_check(conn, MT_HDRCHANGE), what .. ": a field was changed or deleted")
  t.check(not mt.eom_check(conn, MT_BODYCHANGE), what .. ": the body was replaced")
  t.check(not mt.eom_check(conn, MT_QUARANTINE), what .. ": the mail was quarantined")
end

-- The reply signet-milter gives a MUST_ENCRYPT mail whose recipient has no
-- certificate (mail_handler.cc, smtp_reply.cc).
function t.refused_for(recipient)
  return "signet-milter: policy requires encryption; no S/MIME certificate for " .. recipient
end

function t.check_refused(conn, recipient, what)
  t.expect_reply(conn, SMFIR_REPLYCODE, what)
  t.check(mt.eom_check(conn, MT_SMTPREPLY, "550", "5.7.1", t.refused_for(recipient)),
          what .. ": not the 550 naming " .. recipient)
end

-- The smime Authentication-Results this host inserts for a good signature
-- from `signer`, at the top of the header.
function t.check_smime_pass(conn, signer, what)
  local value = "mx.bank.example; smime=pass body.smime-identifier=" .. signer
  local got = mt.getheader(conn, "Authentication-Results", 0)
  t.check(mt.eom_check(conn, MT_HDRINSERT, "Authentication-Results", value, 0),
          what .. ": no \"" .. value .. "\" at the top, got: " .. tostring(got))
end

-- A statement's fields, as the bank's systems send it.
function t.statement(to)
  return {
    { "From", "Statements <statements@bank.example>" },
    { "To", "<" .. to .. ">" },
    { "Subject", "Your statement" },
    { "Message-ID", "<statement-1@bank.example>" },
    { "Date", "Sun, 06 Dec 2026 01:00:00 +0000" },
    { "MIME-Version", "1.0" },
    { "Content-Type", "text/plain; charset=us-ascii" },
  }
end

t.statement_body = "Balance on 6 December: 1,234.56 EUR.\r\n"

-- The customer's mails the test wrote into `dir`: signed (multipart/signed)
-- and encrypted to the bank, and the entity inside both.
function t.customer_mails()
  local mails = {}
  mails.signed_fields, mails.signed_body = t.parse_mail(t.read_file(dir .. "/signed.eml"))
  mails.encrypted_fields, mails.encrypted_body =
    t.parse_mail(t.read_file(dir .. "/encrypted.eml"))
  mails.entity = t.read_file(dir .. "/entity.txt")
  mails.plaintext = t.body_of(mails.entity)
  return mails
end

-- An inbound encrypted mail: decrypted, its body exactly the plaintext, its
-- Content-Type the entity's.
function t.check_decrypted(conn, mails, what)
  t.check(mt.eom_check(conn, MT_BODYCHANGE, mails.plaintext),
          what .. ": the body is not the decrypted plaintext")
  t.check(mt.eom_check(conn, MT_HDRCHANGE, "Content-Type", "text/plain; charset=utf-8"),
          what .. ": Content-Type not changed to the entity's")
end

-- One whole inbound mail from the customer to secure@bank.example.
function t.send_customer_mail(conn, fields, body, chunk, queue_id)
  t.envelope(conn, "customer@example.org", { "secure@bank.example" }, queue_id)
  t.headers(conn, fields)
  t.body(conn, body, chunk)
end

-- A statement from statements@bank.example to `recipient`, whole.
function t.send_statement(conn, recipient)
  t.envelope(conn, "statements@bank.example", { recipient })
  t.headers(conn, t.statement(recipient))
  t.body(conn, t.statement_body)
end

return t
