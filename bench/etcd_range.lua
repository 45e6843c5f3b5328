-- wrk script: etcd v3 JSON gateway serializable range (GET) of one key.
-- The key, base64-encoded, comes from the environment: ETCD_KEY_B64.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"key":"' .. os.getenv("ETCD_KEY_B64") .. '","serializable":true}'
