// rwmutex: Go's sync.RWMutex on the workload of benchmarks/sync_bench.cpp (goro::RWMutex
// vs std::shared_mutex), for the same table.
//
//	rwmutex mode=excl|shared|mixed procs=N tasks=G n=OPS
//	  excl    every op is Lock(); counter++; Unlock()
//	  shared  every op is RLock(); read counter; RUnlock()
//	  mixed   one op in ten is exclusive, the rest shared
//	  tasks   G goroutines, each doing OPS/G ops back to back (1: uncontended)
//	  procs   GOMAXPROCS (default 2)
//
// Output: impl=go workload=rwmutex mode=... procs=... tasks=... n=... ns_per_op=...
// A wrong counter prints "FAIL: ..." on stderr and exits 1.
//
// Build offline: cd benchmarks/go && GOFLAGS=-mod=mod GOPROXY=off go build -o rwmutex-bench ./rwmutex
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

func die(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(code)
}

func main() {
	p := map[string]string{"mode": "excl", "procs": "2", "tasks": "1", "n": "2000000"}
	for _, arg := range os.Args[1:] {
		k, v, found := strings.Cut(arg, "=")
		if _, known := p[k]; !found || !known {
			die(2, "bad arg %s (want mode=, procs=, tasks=, n=)", arg)
		}
		p[k] = v
	}
	num := func(key string) int {
		v, err := strconv.Atoi(p[key])
		if err != nil || v < 1 {
			die(2, "bad %s=%s", key, p[key])
		}
		return v
	}
	mode := p["mode"]
	writeEvery := map[string]int{"excl": 1, "shared": 0, "mixed": 10}
	every, ok := writeEvery[mode]
	if !ok {
		die(2, "mode must be excl, shared or mixed")
	}
	procs, tasks, n := num("procs"), num("tasks"), num("n")
	runtime.GOMAXPROCS(procs)

	var mu sync.RWMutex
	var counter int64
	writes := make([]int64, tasks)
	sinks := make([]int64, tasks)
	per := n / tasks
	var wg sync.WaitGroup
	t0 := time.Now()
	wg.Add(tasks)
	for t := 0; t < tasks; t++ {
		go func(t int) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				if every != 0 && i%every == 0 {
					mu.Lock()
					counter++
					mu.Unlock()
					writes[t]++
				} else {
					mu.RLock()
					sinks[t] += counter
					mu.RUnlock()
				}
			}
		}(t)
	}
	wg.Wait()
	elapsed := time.Since(t0)
	var total int64
	for _, w := range writes {
		total += w
	}
	if counter != total {
		die(1, "FAIL: counter %d after %d exclusive ops", counter, total)
	}
	ops := per * tasks
	fmt.Printf("impl=go workload=rwmutex mode=%s procs=%d tasks=%d n=%d ns_per_op=%.1f\n",
		mode, procs, tasks, ops, float64(elapsed.Nanoseconds())/float64(ops))
}
