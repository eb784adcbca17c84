module goro/benchmarks/gobench

go 1.19
