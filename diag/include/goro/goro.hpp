// goro/goro.hpp — the whole of goro in one include.
//
//   #include <goro/goro.hpp>
//   int main() {
//     return goro::run([] {
//       goro::Channel<int> ch;
//       goro::go_spawn([ch]() mutable { ch.send(1); });
//       return (void)ch.recv();
//     });
//   }
#pragma once

#include "goro/blocking.hpp"
#include "goro/channel.hpp"
#include "goro/condition_variable.hpp"
#include "goro/context.hpp"
#include "goro/diag.hpp"
#include "goro/errgroup.hpp"
#include "goro/future.hpp"
#include "goro/io.hpp"
#include "goro/log.hpp"
#include "goro/memory.hpp"
#include "goro/metrics.hpp"
#include "goro/mutex.hpp"
#include "goro/net.hpp"
#include "goro/once.hpp"
#include "goro/profile.hpp"
#include "goro/runtime.hpp"
#include "goro/rwmutex.hpp"
#include "goro/select.hpp"
#include "goro/semaphore.hpp"
#include "goro/signal.hpp"
#include "goro/status_page.hpp"
#include "goro/time.hpp"
#include "goro/trend.hpp"
#include "goro/wait_group.hpp"
#include "goro/wait_reason.hpp"
