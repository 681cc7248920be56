-- Argo CD health check for privatespaces.dev Space, App and Peering (kstatus conventions).
-- Install: argocd-cm data
--   resource.customizations.health.privatespaces.dev_Space: <this file>
--   resource.customizations.health.privatespaces.dev_App: <this file>
--   resource.customizations.health.privatespaces.dev_Peering: <this file>
local hs = { status = "Progressing", message = "Waiting for the operator" }
if obj.status == nil or obj.status.conditions == nil then
  return hs
end
if obj.status.observedGeneration ~= nil and obj.metadata.generation ~= nil
    and obj.status.observedGeneration < obj.metadata.generation then
  hs.message = "The operator has not yet seen generation " .. obj.metadata.generation
  return hs
end
local ready, stalled, exposed
for _, c in ipairs(obj.status.conditions) do
  if c.type == "Ready" then ready = c end
  if c.type == "Stalled" then stalled = c end
  if c.type == "Exposed" then exposed = c end
end
if exposed ~= nil and exposed.status == "True" then
  hs.status = "Degraded"
  hs.message = exposed.message or "An internal app is reachable from outside its Space"
  return hs
end
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = stalled.message or stalled.reason
  return hs
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or "Ready"
  return hs
end
if ready ~= nil then
  hs.message = ready.message or ready.reason
end
return hs
