-- wrk script of bench/side_by_side.py: rotates requests over kinds and agents and checks every answer.
-- side_by_side.py prepends CONFIG = {first_agent, agents, slack, kinds = {{name, head, tail, patterns}}}:
-- a request is head .. agent .. tail (tail nil: head alone); an answer is right when its status is 200 and
-- its whole body matches one pattern {lua, roles} of a kind, each capture passing its role's test
-- (agent: one of the rotated agents; epoch: within slack seconds of the run; lock_over: epoch - 900).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  counter = 0
  started = os.time()
  sent, ok = {}, {}
  wrong = 0
  samples = {}
  for _, kind in ipairs(CONFIG.kinds) do
    sent[kind.name], ok[kind.name] = 0, 0
  end
end

function request()
  local kinds = CONFIG.kinds
  local kind = kinds[counter % #kinds + 1]
  local agent = CONFIG.first_agent + (id * 37 + math.floor(counter / #kinds)) % CONFIG.agents
  counter = counter + 1
  sent[kind.name] = sent[kind.name] + 1
  if kind.tail == nil then
    return wrk.format("GET", kind.head)
  end
  return wrk.format("GET", kind.head .. agent .. kind.tail)
end

local function passes(role, value)
  local n = tonumber(value)
  if role == "agent" then
    return n >= CONFIG.first_agent and n < CONFIG.first_agent + CONFIG.agents
  elseif role == "lock_over" then
    n = n + 900
  end
  return n >= started - CONFIG.slack and n <= os.time() + CONFIG.slack
end

local function kind_of(body)
  for _, kind in ipairs(CONFIG.kinds) do
    for _, pattern in ipairs(kind.patterns) do
      local captures = { string.match(body, pattern.lua) }
      if captures[1] ~= nil then
        local good = true
        for i, role in ipairs(pattern.roles) do
          good = good and passes(role, captures[i])
        end
        if good then
          return kind.name
        end
      end
    end
  end
  return nil
end

function response(status, headers, body)
  local name = status == 200 and kind_of(body) or nil
  if name then
    ok[name] = ok[name] + 1
  else
    wrong = wrong + 1
    if #samples < 3 then
      table.insert(samples, status .. " " .. body)
    end
  end
end

function done(summary, latency, requests)
  local totals, shown = {}, 0
  for _, kind in ipairs(CONFIG.kinds) do
    totals[kind.name] = { 0, 0 }
  end
  local wrong_total = 0
  for _, thread in ipairs(threads) do
    local s, o = thread:get("sent"), thread:get("ok")
    for name, pair in pairs(totals) do
      pair[1], pair[2] = pair[1] + s[name], pair[2] + o[name]
    end
    wrong_total = wrong_total + thread:get("wrong")
    for _, sample in ipairs(thread:get("samples")) do
      if shown < 3 then
        io.write(string.format("SAMPLE %q\n", sample))
        shown = shown + 1
      end
    end
  end
  for _, kind in ipairs(CONFIG.kinds) do
    io.write(string.format("CHECK %s sent=%d ok=%d\n", kind.name, totals[kind.name][1], totals[kind.name][2]))
  end
  io.write(string.format("WRONG %d\n", wrong_total))
end
