-- wrk script for the upload scenario: every request POSTs 1 MiB (wrk adds Content-Length).
wrk.method = "POST"
wrk.body = string.rep("x", 1048576)
wrk.headers["Content-Type"] = "application/octet-stream"
