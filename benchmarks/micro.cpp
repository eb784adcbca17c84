// goro_micro: Google Benchmark micro-benchmarks of goro's basic operations.
//
//   goro_micro [--benchmark_filter=RoundTrip] [--benchmark_repetitions=3] ...
//
// Every benchmark takes the worker count as its argument (workers:1, workers:2). Each call
// of a benchmark function starts its own runtime with goro::run(Config{.workers = N}) and
// runs the `for (auto _ : state)` loop inside the main task, so only the loop is timed
// (runtime start-up and teardown are not). Helper tasks are joined after the loop.
// Times are wall-clock (UseRealTime): the work happens on goro's worker threads.
//
//   SpawnJoin          spawn one empty task and wait for it (WaitGroup), one at a time
//   SpawnBatched       spawn empty tasks, wait for them in batches of 1024 (amortised cost)
//   YieldAlone         goro::yield() with nothing else runnable
//   YieldPingPong      two tasks yielding to each other; per iteration one yield of the
//                      measuring task (workers:1 = 2 context switches per iteration)
//   UnbufferedRoundTrip  send on `ping`, receive on `pong` with an echo task (2 hand-offs)
//   BufferedSendRecv   send then recv on a capacity-128 channel in one task (never blocks)
//   BufferedStream     one producer task streams into a capacity-128 channel; the measuring
//                      task receives one item per iteration
//   Select2Ready       2-case receive select with both cases ready (+ one refill send)
//   Select2Blocking    2-case receive select on two unbuffered channels fed by 2 producers
//   HandleCopy         copy-construct and destroy a Channel handle (no runtime involved)
//   HandleMove         move-construct a handle and move-assign it back
//   HandleVectorCopy   copy a std::vector of 64 handles (copies + destructions of 64)
#include <goro/goro.hpp>

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <vector>

namespace {

using i64 = std::int64_t;

// Runs `body(state)` as goro's main task on a fresh runtime with state.range(0) workers.
template <class Body>
void in_goro(benchmark::State& state, Body body) {
  const auto workers = static_cast<unsigned>(state.range(0));
  const int rc = goro::run(
      [&] {
        body(state);
        // A task that just called wg.done() may still be returning: wait for it (as
        // goleak does) so that run()'s exit leak check does not report it.
        (void)goro::diag::find_leaks();
      },
      goro::Config{.workers = workers});
  if (rc != 0) state.SkipWithError("goro::run returned non-zero (leaked tasks?)");
}

void BM_SpawnJoin(benchmark::State& state) {
  in_goro(state, [](benchmark::State& st) {
    for (auto _ : st) {
      goro::WaitGroup wg;
      wg.add(1);
      goro::go_spawn([&wg] { wg.done(); });
      wg.wait();
    }
  });
}

void BM_SpawnBatched(benchmark::State& state) {
  in_goro(state, [](benchmark::State& st) {
    constexpr int kBatch = 1024;
    goro::WaitGroup wg;
    int pending = 0;
    for (auto _ : st) {
      wg.add(1);
      goro::go_spawn([&wg] { wg.done(); });
      if (++pending == kBatch) {
        wg.wait();
        pending = 0;
      }
    }
    wg.wait();
  });
}

void BM_YieldAlone(benchmark::State& state) {
  in_goro(state, [](benchmark::State& st) {
    for (auto _ : st) goro::yield();
  });
}

void BM_YieldPingPong(benchmark::State& state) {
  in_goro(state, [](benchmark::State& st) {
    std::atomic<bool> stop{false};
    goro::WaitGroup joined;
    joined.add(1);
    goro::go_spawn([&] {
      while (!stop.load(std::memory_order_relaxed)) goro::yield();
      joined.done();
    });
    goro::yield();  // let the partner start
    for (auto _ : st) goro::yield();
    stop.store(true, std::memory_order_relaxed);
    joined.wait();
  });
}

void BM_UnbufferedRoundTrip(benchmark::State& state) {
  in_goro(state, [](benchmark::State& st) {
    goro::Channel<i64> ping, pong;
    goro::WaitGroup joined;
    joined.add(1);
    goro::go_spawn([ping, pong, &joined]() mutable {
      for (i64 v : ping) pong.send(v);
      joined.done();
    });
    i64 i = 0;
    for (auto _ : st) {
      ping.send(i);
      std::optional<i64> v = pong.recv();
      if (!v || *v != i) {
        st.SkipWithError("round trip returned a wrong value");
        break;
      }
      ++i;
    }
    ping.close();
    joined.wait();
  });
}

void BM_BufferedSendRecv(benchmark::State& state) {
  in_goro(state, [](benchmark::State& st) {
    goro::Channel<i64> ch(128);
    i64 i = 0;
    for (auto _ : st) {
      ch.send(i++);
      benchmark::DoNotOptimize(ch.recv());
    }
  });
}

void BM_BufferedStream(benchmark::State& state) {
  in_goro(state, [](benchmark::State& st) {
    goro::Channel<i64> ch(128);
    const auto total = static_cast<i64>(st.max_iterations);
    goro::WaitGroup joined;
    joined.add(1);
    goro::go_spawn([ch, total, &joined]() mutable {
      for (i64 i = 0; i < total; ++i) ch.send(i);
      joined.done();
    });
    for (auto _ : st) benchmark::DoNotOptimize(ch.recv());
    joined.wait();
  });
}

void BM_Select2Ready(benchmark::State& state) {
  in_goro(state, [](benchmark::State& st) {
    goro::Channel<i64> c1(1), c2(1);
    c1.send(1);
    c2.send(2);
    std::optional<i64> v1, v2;
    for (auto _ : st) {
      const std::size_t k = goro::select(goro::recv_case(c1, v1), goro::recv_case(c2, v2));
      if (k == 0) {
        c1.send(*v1);
      } else {
        c2.send(*v2);
      }
    }
  });
}

void BM_Select2Blocking(benchmark::State& state) {
  in_goro(state, [](benchmark::State& st) {
    goro::Channel<i64> c1, c2;
    const auto total = static_cast<i64>(st.max_iterations);
    goro::WaitGroup joined;
    joined.add(2);
    // Both producers stop as soon as the measuring task stops selecting: closing the
    // channels afterwards would make a sender throw, so each sends its exact share.
    goro::go_spawn([c1, n = (total + 1) / 2, &joined]() mutable {
      for (i64 i = 0; i < n; ++i) c1.send(i);
      joined.done();
    });
    goro::go_spawn([c2, n = total / 2, &joined]() mutable {
      for (i64 i = 0; i < n; ++i) c2.send(i);
      joined.done();
    });
    std::optional<i64> v1, v2;
    for (auto _ : st) {
      benchmark::DoNotOptimize(goro::select(goro::recv_case(c1, v1), goro::recv_case(c2, v2)));
    }
    joined.wait();
  });
}

// Handle bookkeeping: what every copy, move and destruction of a Channel costs (refcount
// and, since the provable-leak analysis, the tag word).
void BM_HandleCopy(benchmark::State& state) {
  goro::Channel<int> ch;
  for (auto _ : state) {
    goro::Channel<int> copy(ch);
    benchmark::DoNotOptimize(copy);
  }
}

void BM_HandleMove(benchmark::State& state) {
  goro::Channel<int> a;
  for (auto _ : state) {
    goro::Channel<int> b(std::move(a));
    benchmark::DoNotOptimize(b);
    a = std::move(b);
  }
}

void BM_HandleVectorCopy(benchmark::State& state) {
  std::vector<goro::Channel<int>> many(64);
  for (auto _ : state) {
    std::vector<goro::Channel<int>> copy(many);
    benchmark::DoNotOptimize(copy.data());
  }
  state.SetItemsProcessed(state.iterations() * 64);
}

BENCHMARK(BM_HandleCopy);
BENCHMARK(BM_HandleMove);
BENCHMARK(BM_HandleVectorCopy);

#define GORO_MICRO(fn) BENCHMARK(fn)->ArgName("workers")->Arg(1)->Arg(2)->UseRealTime()
GORO_MICRO(BM_SpawnJoin);
GORO_MICRO(BM_SpawnBatched);
GORO_MICRO(BM_YieldAlone);
GORO_MICRO(BM_YieldPingPong);
GORO_MICRO(BM_UnbufferedRoundTrip);
GORO_MICRO(BM_BufferedSendRecv);
GORO_MICRO(BM_BufferedStream);
GORO_MICRO(BM_Select2Ready);
GORO_MICRO(BM_Select2Blocking);

}  // namespace

BENCHMARK_MAIN();
