module goro/benchmarks/net/go_echo

go 1.19
