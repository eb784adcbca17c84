// goro/detail/channel_sites.hpp — live channels counted by creation site, so that
// goro::diag::memory() and the heap profile can say which line holds channel memory
// without a registry of channels.
//
//   // in ChanState's constructor and destructor:
//   memory_site = note_channel_created(where, bytes);
//   ...
//   note_channel_destroyed(memory_site, bytes);
//
// The table is fixed (kChannelSiteSlots entries, allocated once, never freed) and
// lock-free: a site's entry is claimed once by a CAS on its state, after which creating
// or destroying a channel there costs a hash, a probe or two and relaxed fetch_adds on
// the entry's counters. When the table is full, further sites share the last entry,
// whose site is this header's "other sites" location.
//
// Invariants: an entry's state goes empty -> claiming -> ready and never back; `site`
// and `key` are written only while claiming and read only once ready (acquire).
// Counters are relaxed: a reader sums a moment's counts, each one exact on its own.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <source_location>

namespace goro::detail {

inline constexpr std::size_t kChannelSiteSlots = 4096;

struct ChannelSiteEntry {
  enum : std::uint32_t { empty = 0, claiming = 1, ready = 2 };
  std::atomic<std::uint32_t> state{empty};
  std::source_location site;
  std::atomic<std::size_t> live_objects{0}, live_bytes{0};
  std::atomic<std::size_t> created_objects{0}, created_bytes{0};  // since start-up
};

// Counts a channel of `bytes` (its state and buffer) created at `where`; returns the
// index of the entry to pass to note_channel_destroyed.
std::uint32_t note_channel_created(const std::source_location& where, std::size_t bytes) noexcept;
void note_channel_destroyed(std::uint32_t entry, std::size_t bytes) noexcept;

// The table (kChannelSiteSlots entries); only entries whose state is `ready` are in use.
const ChannelSiteEntry* channel_site_table() noexcept;

}  // namespace goro::detail
