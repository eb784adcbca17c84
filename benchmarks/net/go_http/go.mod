module goro/benchmarks/net/go_http

go 1.19
