// Context values (with_value, ContextKey, Context::value), causes (with_cancel_cause,
// with_deadline_cause / with_timeout_cause, cause) and after_func (goro/context.hpp).
#include <goro/context.hpp>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>

#include "goro_test.hpp"

namespace {

using namespace std::chrono_literals;
using goro::Channel;
using goro::Context;
using goro::ContextError;
using goro::ContextKey;

const ContextKey<std::string> request_id{"request_id"};
const ContextKey<int> attempt{"attempt"};

std::string what_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  }
}

// -------------------------------------------------------------------------- values

TEST(ContextValues, AValueIsSeenByTheContextAndItsDescendantsOnly) {
  auto [parent, cancel] = goro::with_cancel(Context::background());
  auto ctx = goro::with_value(parent, request_id, std::string("r-17"));
  EXPECT_EQ(ctx.value(request_id), "r-17");
  EXPECT_FALSE(parent.value(request_id).has_value());
  auto [child, cancel_child] = goro::with_timeout(ctx, 1h);
  EXPECT_EQ(child.value(request_id), "r-17");
  auto grandchild = goro::with_value(child, attempt, 3);
  EXPECT_EQ(grandchild.value(request_id), "r-17");
  EXPECT_EQ(grandchild.value(attempt), 3);
  EXPECT_FALSE(child.value(attempt).has_value());
  cancel_child();
  cancel();
}

TEST(ContextValues, KeysWithTheSameNameAndTypeAreDistinct) {
  const ContextKey<std::string> other_request_id{"request_id"};
  auto ctx = goro::with_value(Context::background(), request_id, std::string("mine"));
  EXPECT_FALSE(ctx.value(other_request_id).has_value());
  const ContextKey<std::string> copy = request_id;
  EXPECT_EQ(ctx.value(copy), "mine") << "a copy of a key is the same key";
}

TEST(ContextValues, TheNearestAncestorsValueWins) {
  auto outer = goro::with_value(Context::background(), attempt, 1);
  auto inner = goro::with_value(outer, attempt, 2);
  EXPECT_EQ(inner.value(attempt), 2);
  EXPECT_EQ(outer.value(attempt), 1);
}

TEST(ContextValues, AValueContextIsCancelledWithItsParent) {
  auto [parent, cancel] = goro::with_cancel(Context::background());
  auto ctx = goro::with_value(parent, attempt, 1);
  EXPECT_EQ(ctx.deadline(), parent.deadline());
  EXPECT_FALSE(ctx.cancelled());
  cancel();
  EXPECT_EQ(ctx.err(), ContextError::canceled);
  std::optional<std::monostate> v;
  EXPECT_EQ(goro::select(goro::recv_case(ctx.done(), v), goro::default_case()), 0u);
}

TEST(ContextValues, BackgroundHasNoValues) {
  EXPECT_FALSE(Context::background().value(request_id).has_value());
}

// -------------------------------------------------------------------------- causes

TEST(ContextCause, NullWhileTheContextIsNotDone) {
  auto [ctx, cancel] = goro::with_cancel_cause(Context::background());
  EXPECT_EQ(goro::cause(ctx), nullptr);
  EXPECT_EQ(goro::cause(Context::background()), nullptr);
  cancel(nullptr);
}

TEST(ContextCause, CancelWithACauseRecordsItForTheContextAndItsDescendants) {
  auto [ctx, cancel] = goro::with_cancel_cause(Context::background());
  auto [child, cancel_child] = goro::with_cancel(ctx);
  auto valued = goro::with_value(child, attempt, 1);
  cancel(std::make_exception_ptr(std::runtime_error("backend unreachable")));
  EXPECT_EQ(ctx.err(), ContextError::canceled) << "err stays Go's canceled";
  EXPECT_EQ(what_of(goro::cause(ctx)), "backend unreachable");
  EXPECT_EQ(what_of(goro::cause(child)), "backend unreachable");
  EXPECT_EQ(what_of(goro::cause(valued)), "backend unreachable");
  auto [late, cancel_late] = goro::with_cancel(ctx);
  EXPECT_EQ(what_of(goro::cause(late)), "backend unreachable") << "born cancelled, same cause";
  cancel_child();
  cancel_late();
}

TEST(ContextCause, TheFirstCancellationsCauseWins) {
  auto [ctx, cancel] = goro::with_cancel_cause(Context::background());
  cancel(std::make_exception_ptr(std::runtime_error("first")));
  cancel(std::make_exception_ptr(std::runtime_error("second")));
  EXPECT_EQ(what_of(goro::cause(ctx)), "first");
}

TEST(ContextCause, WithoutACauseItIsTheContextsError) {
  auto [cancelled, cancel] = goro::with_cancel(Context::background());
  cancel();
  try {
    std::rethrow_exception(goro::cause(cancelled));
  } catch (const goro::ContextDone& done) {
    EXPECT_EQ(done.error(), ContextError::canceled);
    EXPECT_STREQ(done.what(), "context canceled");
  }
  auto [nil_cause, cancel_nil] = goro::with_cancel_cause(Context::background());
  cancel_nil(nullptr);
  EXPECT_EQ(what_of(goro::cause(nil_cause)), "context canceled");
  auto [expired, cancel_expired] = goro::with_timeout(Context::background(), 0ns);
  EXPECT_EQ(what_of(goro::cause(expired)), "context deadline exceeded");
  cancel_expired();
}

TEST(ContextCause, ADeadlineCauseIsRecordedOnlyWhenTheDeadlineEndsTheContext) {
  auto [expires, cancel_expires] = goro::with_timeout_cause(
      Context::background(), 1ms, std::make_exception_ptr(std::runtime_error("too slow")));
  auto done = expires.done();
  auto closed = gt::recv_for(done);
  ASSERT_FALSE(closed.timed_out);
  EXPECT_FALSE(closed.value.has_value()) << "done() is closed, never sent to";
  EXPECT_EQ(expires.err(), ContextError::deadline_exceeded);
  EXPECT_EQ(what_of(goro::cause(expires)), "too slow");
  cancel_expires();

  auto [cancelled, cancel] = goro::with_deadline_cause(
      Context::background(), std::chrono::steady_clock::now() + 1h,
      std::make_exception_ptr(std::runtime_error("too slow")));
  cancel();
  EXPECT_EQ(what_of(goro::cause(cancelled)), "context canceled");
}

// ---------------------------------------------------------------------- after_func

TEST(ContextAfterFunc, RunsInATaskOfItsOwnOnceTheContextIsDone) {
  auto [ctx, cancel] = goro::with_cancel(Context::background());
  Channel<goro::TaskId> ran(1);
  auto stop = goro::after_func(ctx, [ran]() mutable { ran.send(goro::current_task()); });
  EXPECT_EQ(ran.size(), 0u);
  cancel();
  GT_ASSERT_RECV(id, ran);
  EXPECT_NE(id, 0u);
  EXPECT_FALSE(stop()) << "f has been started";
  EXPECT_FALSE(stop());
}

TEST(ContextAfterFunc, RunsAtOnceForAContextAlreadyDone) {
  auto [ctx, cancel] = goro::with_cancel(Context::background());
  cancel();
  Channel<int> ran(1);
  auto stop = goro::after_func(ctx, [ran]() mutable { ran.send(1); });
  GT_ASSERT_RECV(v, ran);
  EXPECT_EQ(v, 1);
  EXPECT_FALSE(stop());
}

TEST(ContextAfterFunc, StopBeforeTheContextIsDoneMeansFNeverRuns) {
  auto [ctx, cancel] = goro::with_cancel(Context::background());
  std::atomic<int> runs{0};
  auto stop = goro::after_func(ctx, [&] { runs.fetch_add(1); });
  EXPECT_TRUE(stop());
  EXPECT_FALSE(stop()) << "stopped already";
  cancel();
  std::this_thread::sleep_for(gt::kSanitized ? 500ms : 100ms);
  EXPECT_EQ(runs.load(), 0);
}

TEST(ContextAfterFunc, RunsWhenADeadlineOrAnAncestorEndsTheContext) {
  auto [parent, cancel_parent] = goro::with_cancel(Context::background());
  auto [child, cancel_child] = goro::with_cancel(goro::with_value(parent, attempt, 1));
  auto [timed, cancel_timed] = goro::with_timeout(Context::background(), 1ms);
  Channel<int> ran(2);
  auto stop_child = goro::after_func(child, [ran]() mutable { ran.send(1); });
  auto stop_timed = goro::after_func(timed, [ran]() mutable { ran.send(10); });
  cancel_parent();
  GT_ASSERT_RECV(a, ran);
  GT_ASSERT_RECV(b, ran);
  EXPECT_EQ(a + b, 11);
  cancel_child();
  cancel_timed();
}

TEST(ContextAfterFunc, BackgroundIsNeverDone) {
  std::atomic<int> runs{0};
  auto stop = goro::after_func(Context::background(), [&] { runs.fetch_add(1); });
  EXPECT_TRUE(stop());
  EXPECT_EQ(runs.load(), 0);
  EXPECT_THROW(goro::after_func(Context::background(), std::function<void()>{}),
               std::invalid_argument);
}

}  // namespace
