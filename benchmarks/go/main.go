// gobench: goro's Go version of the benchmark workloads (benchmarks/README.md,
// "Workloads"), the same workloads that benchmarks/workloads.cpp (goro_bench) runs on goro.
//
//	gobench <skynet|spawn|pingpong|buffered|select|parked|pipepingpong> [key=value ...]
//	  procs=N     GOMAXPROCS (default 2)
//	  n=N         iteration count (defaults as in benchmarks/README.md)
//	  skynet:     chan=unbuf|buf (buf = capacity 16), size=1000000 (leaves, a power of 10)
//	  buffered:   p=producers c=consumers cap=capacity (default 1, 1, 128)
//	  select:     cap=capacity of both channels (default 0)
//
// Output: one line of key=value pairs, impl=go, in the peers' format. A wrong result
// prints "FAIL: ..." on stderr and exits 1.
//
// Build offline: GOFLAGS=-mod=mod GOPROXY=off go build -o gobench .
package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// params holds the key=value arguments after the workload name.
type params map[string]string

func (p params) int(key string, def int) int {
	s, ok := p[key]
	if !ok {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		die(2, "bad %s=%s", key, s)
	}
	return v
}

func (p params) str(key, def string) string {
	if s, ok := p[key]; ok {
		return s
	}
	return def
}

func die(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(code)
}

func check(ok bool, format string, args ...any) {
	if !ok {
		die(1, "FAIL: "+format, args...)
	}
}

// statusKB reads one "Field:  N kB" line of /proc/self/status; -1 when absent.
func statusKB(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	prefix := field + ":"
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, prefix) {
			fields := strings.Fields(line[len(prefix):])
			if len(fields) > 0 {
				if v, err := strconv.ParseInt(fields[0], 10, 64); err == nil {
					return v
				}
			}
		}
	}
	return -1
}

func peakRSSMB() float64 { return float64(statusKB("VmHWM")) / 1024 }

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

func perOp(d time.Duration, ops int) float64 { return float64(d.Nanoseconds()) / float64(ops) }

// emit prints the result line: impl and workload first, then the keys in order.
func emit(workload string, kvs ...any) {
	var b strings.Builder
	b.WriteString("impl=go workload=")
	b.WriteString(workload)
	for i := 0; i+1 < len(kvs); i += 2 {
		fmt.Fprintf(&b, " %v=%v", kvs[i], kvs[i+1])
	}
	fmt.Println(b.String())
}

func f1(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) }
func f2(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) }
func f0(x float64) string { return strconv.FormatFloat(x, 'f', 0, 64) }

// ----------------------------------------------------------------------------- skynet

func skynetNode(out chan<- int64, num, size int64, capacity int) {
	if size == 1 {
		out <- num
		return
	}
	results := make(chan int64, capacity)
	step := size / 10
	for i := int64(0); i < 10; i++ {
		go skynetNode(results, num+i*step, step, capacity)
	}
	var total int64
	for i := 0; i < 10; i++ {
		total += <-results
	}
	out <- total
}

func benchSkynet(procs int, p params) {
	mode := p.str("chan", "unbuf")
	capacity := map[string]int{"unbuf": 0, "buf": 16}
	c, ok := capacity[mode]
	if !ok {
		die(2, "chan must be unbuf or buf")
	}
	size := int64(p.int("size", 1000000))
	tasks := 0
	for s := size; s >= 1; s /= 10 {
		check(s == 1 || s%10 == 0, "size must be a power of 10")
		tasks += int(size / s)
	}

	t0 := time.Now()
	top := make(chan int64, c)
	go skynetNode(top, 0, size, c)
	got := <-top
	el := time.Since(t0)

	check(got == size*(size-1)/2, "skynet result %d", got)
	kvs := []any{"procs", procs, "chan", mode}
	if size != 1000000 {
		kvs = append(kvs, "size", size)
	}
	kvs = append(kvs, "wall_ms", f2(ms(el)), "ns_per_op", f1(perOp(el, tasks)), "result", got,
		"peak_rss_mb", f1(peakRSSMB()))
	emit("skynet", kvs...)
}

// ----------------------------------------------------------------------------- spawn

func benchSpawn(procs int, p params) {
	n := p.int("n", 1000000)
	var wg sync.WaitGroup

	t0 := time.Now()
	wg.Add(n)
	for i := 0; i < n; i++ {
		go wg.Done()
	}
	wg.Wait()
	el := time.Since(t0)

	emit("spawn", "procs", procs, "n", n, "wall_ms", f2(ms(el)), "ns_per_op", f1(perOp(el, n)),
		"peak_rss_mb", f1(peakRSSMB()))
}

// ----------------------------------------------------------------------------- pingpong

func benchPingpong(procs int, p params) {
	n := p.int("n", 1000000)
	ping, pong := make(chan int64), make(chan int64)

	t0 := time.Now()
	go func() {
		for k := 0; k < n; k++ {
			pong <- <-ping
		}
	}()
	for i := int64(0); i < int64(n); i++ {
		ping <- i
		v := <-pong
		check(v == i, "pingpong got %d want %d", v, i)
	}
	el := time.Since(t0)

	emit("pingpong", "procs", procs, "n", n, "wall_ms", f2(ms(el)), "ns_per_op", f1(perOp(el, n)))
}

// ----------------------------------------------------------------------------- pipepingpong

// Two goroutines pass a counter through two os.Pipe pipes (the runtime's netpoller parks
// each reader); ns_per_op is one round trip.
func benchPipePingpong(procs int, p params) {
	n := p.int("n", 200000)
	thereR, thereW, err := os.Pipe()
	check(err == nil, "pipe: %v", err)
	backR, backW, err := os.Pipe()
	check(err == nil, "pipe: %v", err)
	done := make(chan struct{})

	t0 := time.Now()
	go func() {
		var buf [8]byte
		for k := 0; k < n; k++ {
			_, err := io.ReadFull(thereR, buf[:])
			check(err == nil, "read: %v", err)
			_, err = backW.Write(buf[:])
			check(err == nil, "write: %v", err)
		}
		close(done)
	}()
	var buf [8]byte
	for i := int64(0); i < int64(n); i++ {
		binary.LittleEndian.PutUint64(buf[:], uint64(i))
		_, err := thereW.Write(buf[:])
		check(err == nil, "write: %v", err)
		_, err = io.ReadFull(backR, buf[:])
		check(err == nil, "read: %v", err)
		check(int64(binary.LittleEndian.Uint64(buf[:])) == i, "pipepingpong got %d want %d", binary.LittleEndian.Uint64(buf[:]), i)
	}
	el := time.Since(t0)
	<-done

	emit("pipepingpong", "procs", procs, "n", n, "wall_ms", f2(ms(el)), "ns_per_op", f1(perOp(el, n)))
}

// ----------------------------------------------------------------------------- buffered

func benchBuffered(procs int, p params) {
	n, producers, consumers, capacity := p.int("n", 10000000), p.int("p", 1), p.int("c", 1), p.int("cap", 128)
	check(producers >= 1 && consumers >= 1 && n%producers == 0, "need p>=1, c>=1, n divisible by p")
	share := int64(n / producers)
	items := make(chan int64, capacity)
	partial := make([]int64, consumers)
	var prodWG, consWG sync.WaitGroup

	t0 := time.Now()
	consWG.Add(consumers)
	for c := range partial {
		go func(slot *int64) {
			defer consWG.Done()
			var acc int64
			for v := range items {
				acc += v
			}
			*slot = acc
		}(&partial[c])
	}
	prodWG.Add(producers)
	for q := 0; q < producers; q++ {
		go func(first int64) {
			defer prodWG.Done()
			for v := first; v < first+share; v++ {
				items <- v
			}
		}(int64(q) * share)
	}
	prodWG.Wait()
	close(items)
	consWG.Wait()
	el := time.Since(t0)

	var total int64
	for _, s := range partial {
		total += s
	}
	want := int64(n) * int64(n-1) / 2
	check(total == want, "buffered sum %d want %d", total, want)
	nsItem := perOp(el, n)
	emit("buffered", "procs", procs, "p", producers, "c", consumers, "cap", capacity, "n", n,
		"wall_ms", f2(ms(el)), "ns_per_op", f2(nsItem), "items_per_s", f0(1e9/nsItem))
}

// ----------------------------------------------------------------------------- select

func benchSelect(procs int, p params) {
	n, capacity := p.int("n", 1000000), p.int("cap", 0)
	check(n%2 == 0, "n must be even")
	half := int64(n / 2)
	a, b := make(chan int64, capacity), make(chan int64, capacity)
	feed := func(ch chan<- int64, first int64) {
		for v := first; v < first+half; v++ {
			ch <- v
		}
	}

	t0 := time.Now()
	go feed(a, 0)
	go feed(b, half)
	var sum, fromA int64
	for i := 0; i < n; i++ {
		select {
		case v := <-a:
			sum += v
			fromA++
		case v := <-b:
			sum += v
		}
	}
	el := time.Since(t0)

	want := int64(n) * int64(n-1) / 2
	check(sum == want && fromA == half, "select sum %d want %d (from a: %d want %d)", sum, want, fromA, half)
	emit("select", "procs", procs, "cap", capacity, "n", n, "wall_ms", f2(ms(el)), "ns_per_op", f1(perOp(el, n)))
}

// ----------------------------------------------------------------------------- parked

func benchParked(procs int, p params) {
	n := p.int("n", 100000)
	handles := make([]chan int, n) // allocated (and touched) before the baseline
	for i := range handles {
		handles[i] = nil
	}
	runtime.GC()
	time.Sleep(20 * time.Millisecond)
	base := statusKB("VmRSS")
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	var started sync.WaitGroup
	started.Add(n)
	for i := range handles {
		ch := make(chan int)
		handles[i] = ch
		go func() {
			started.Done()
			<-ch // never sent on
		}()
	}
	started.Wait()
	time.Sleep(100 * time.Millisecond)
	after := statusKB("VmRSS")
	var now runtime.MemStats
	runtime.ReadMemStats(&now)

	perTask := func(delta float64) string { return f0(delta / float64(n)) }
	emit("parked", "procs", procs, "n", n, "stack", "go_default", "rss_base_kb", base, "rss_kb", after,
		"bytes_per_task", perTask(float64(after-base)*1024),
		"stack_inuse_per_task", perTask(float64(now.StackInuse)-float64(before.StackInuse)),
		"heap_inuse_per_task", perTask(float64(now.HeapInuse)-float64(before.HeapInuse)),
		"goroutines", runtime.NumGoroutine())
	os.Exit(0) // the parked goroutines are never woken
}

// ----------------------------------------------------------------------------- main

var workloads = map[string]func(procs int, p params){
	"skynet":       benchSkynet,
	"spawn":        benchSpawn,
	"pingpong":     benchPingpong,
	"pipepingpong": benchPipePingpong,
	"buffered":     benchBuffered,
	"select":       benchSelect,
	"parked":       benchParked,
}

func main() {
	if len(os.Args) < 2 {
		die(2, "usage: gobench <skynet|spawn|pingpong|buffered|select|parked|pipepingpong> [key=value ...]")
	}
	bench, ok := workloads[os.Args[1]]
	if !ok {
		die(2, "unknown workload %s", os.Args[1])
	}
	p := params{}
	for _, arg := range os.Args[2:] {
		k, v, found := strings.Cut(arg, "=")
		if !found {
			die(2, "bad arg %s (want key=value)", arg)
		}
		p[k] = v
	}
	procs := p.int("procs", 2)
	check(procs >= 1, "procs must be >= 1")
	runtime.GOMAXPROCS(procs)
	bench(procs, p)
}
