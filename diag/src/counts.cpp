// diag/src/counts.cpp — diag::count_by_reason: tasks per wait reason, read from the task
// records without building TaskInfos. Reads follow runtime/src/wait_record.hpp (one
// WaitRecordReaders per pass; each record pinned only while its reason is copied).
#include "goro/diag.hpp"

#include "goro/internal/inspect.hpp"

namespace goro::diag {

std::map<WaitReason, std::size_t> count_by_reason() {
  std::map<WaitReason, std::size_t> counts;
  const detail::WaitRecordReaders reading;
  detail::registry_for_each([&](const detail::TaskRecord& t) {
    ++counts[detail::read_wait_record(t, [](const detail::WaitRecordCopy&) {}).site.reason];
  });
  return counts;
}

}  // namespace goro::diag
