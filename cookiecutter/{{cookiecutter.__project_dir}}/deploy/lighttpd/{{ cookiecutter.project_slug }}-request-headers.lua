-- lighttpd runs this for every request to the site (mod_magnet), before anything else.
--
-- First, it drops each request header whose name has a character other than a letter, a digit
-- or "-". The app server receives headers as CGI variables, where "_" and "." become "_"
-- too: a client's "X_Forwarded_Proto" or "X.Forwarded.For" would land on the same
-- HTTP_X_FORWARDED_PROTO / _FOR variable as the real header the site sets, and could
-- change the scheme or address the app believes. nginx and Apache drop such names on
-- their own; this does the same for lighttpd. Real clients never send them.
local odd_names = {}
for name in pairs(lighty.r.req_header) do
  if name:find("[^%w-]") then
    odd_names[#odd_names + 1] = name
  end
end
for _, name in ipairs(odd_names) do
  lighty.r.req_header[name] = nil
end

-- Then it gives the request an id, 32 random hex digits like nginx's $request_id, as
-- the X-Request-ID header (replacing any the client sent): the app logs it on every
-- line about this request and returns it in its response.
local parts = {}
for i = 1, 4 do
  parts[i] = string.format("%08x", lighty.c.rand() & 0xffffffff)
end
lighty.r.req_header["X-Request-ID"] = table.concat(parts)
