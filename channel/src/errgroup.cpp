// channel/src/errgroup.cpp — goro::ErrGroup: Go's errgroup.WithContext over a WaitGroup,
// a Context and (with a limit) a Semaphore. Invariants and lock discipline are in
// goro/errgroup.hpp.
#include "goro/errgroup.hpp"

#include <stdexcept>
#include <string>

namespace goro {

namespace detail {

namespace {
std::atomic<std::uint64_t> g_next_group_id{1};
}  // namespace

ErrGroupState::ErrGroupState(const Context& parent)
    : id(g_next_group_id.fetch_add(1, std::memory_order_relaxed)) {
  auto [ctx, cancel_fn] = with_cancel(parent);
  context = std::move(ctx);
  cancel = std::move(cancel_fn);
}

void ErrGroupState::fail(std::exception_ptr error) noexcept {
  {
    std::lock_guard guard(lock);
    if (first_error) return;
    first_error = std::move(error);
  }
  cancel();
}

void ErrGroupState::task_done(Semaphore* held) noexcept {
  if (held != nullptr) held->release(1);
  users.fetch_sub(1, std::memory_order_acq_rel);  // before done(): set_limit after wait() sees 0
  started.done();
}

bool ErrGroupState::begin_task(Semaphore** held, bool may_park, const std::source_location& where) {
  users.fetch_add(1, std::memory_order_acq_rel);
  try {
    if (limit_zero) {
      if (!may_park) {
        users.fetch_sub(1, std::memory_order_acq_rel);
        return false;
      }
      throw std::logic_error(std::string("goro::ErrGroup::go at ") + where.file_name() + ":" +
                             std::to_string(where.line()) +
                             ": the group's limit is 0, so no task could ever start; "
                             "set_limit(n > 0), or a negative limit for none");
    }
    Semaphore* sem = limit.get();
    if (sem != nullptr) {
      if (may_park) {
        sem->acquire(1, where);
      } else if (!sem->try_acquire(1)) {
        users.fetch_sub(1, std::memory_order_acq_rel);
        return false;
      }
    }
    *held = sem;
    started.add(1);
    return true;
  } catch (...) {
    users.fetch_sub(1, std::memory_order_acq_rel);
    throw;
  }
}

std::string ErrGroupState::next_task_name() {
  return "errgroup " + std::to_string(id) + "/" +
         std::to_string(tasks_named.fetch_add(1, std::memory_order_relaxed) + 1);
}

}  // namespace detail

ErrGroup::ErrGroup() : ErrGroup(Context::background()) {}

ErrGroup::ErrGroup(Context parent)
    : state_(std::make_shared<detail::ErrGroupState>(parent)) {}

ErrGroup::~ErrGroup() = default;

void ErrGroup::wait(std::source_location where) {
  state_->started.wait(where);
  state_->cancel();
  std::exception_ptr error;
  {
    std::lock_guard guard(state_->lock);
    error = state_->first_error;
  }
  if (error) std::rethrow_exception(error);
}

Context ErrGroup::context() const { return state_->context; }

void ErrGroup::set_limit(int n) {
  const std::int64_t active = state_->users.load(std::memory_order_acquire);
  if (active != 0)
    throw std::logic_error("goro::ErrGroup::set_limit: " + std::to_string(active) +
                           " tasks of the group are still running or waiting to start; "
                           "set the limit before go(), or after wait()");
  state_->limit_zero = n == 0;
  state_->limit = n > 0 ? std::make_unique<Semaphore>(n) : nullptr;
}

}  // namespace goro
