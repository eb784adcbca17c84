// channel/src/channel_sites.cpp — the per-creation-site channel counters
// (goro/detail/channel_sites.hpp; its header states the invariants).
#include "goro/detail/channel_sites.hpp"

#include "goro/detail/futex_lock.hpp"

namespace goro::detail {

namespace {

ChannelSiteEntry* table() noexcept {
  // Never destroyed: channels in static objects may die after any other static.
  static ChannelSiteEntry* entries = new ChannelSiteEntry[kChannelSiteSlots];
  return entries;
}

// source_location's strings have static storage: their addresses and the line and
// column identify a site (one site seen from two translation units may get two
// entries; readers merge them by the strings).
bool same_site(const std::source_location& a, const std::source_location& b) noexcept {
  return a.file_name() == b.file_name() && a.function_name() == b.function_name() &&
         a.line() == b.line() && a.column() == b.column();
}

std::size_t hash_of(const std::source_location& s) noexcept {
  auto h = reinterpret_cast<std::uintptr_t>(s.file_name()) ^
           (reinterpret_cast<std::uintptr_t>(s.function_name()) << 7) ^
           (std::uintptr_t{s.line()} << 17) ^ std::uintptr_t{s.column()};
  h *= 0x9e3779b97f4a7c15ULL;
  return static_cast<std::size_t>(h >> 20);
}

std::uint32_t entry_for(const std::source_location& where) noexcept {
  ChannelSiteEntry* entries = table();
  constexpr std::size_t kProbeLimit = kChannelSiteSlots - 1;  // the last entry is the overflow
  std::size_t i = hash_of(where) % kProbeLimit;
  for (std::size_t probes = 0; probes < kProbeLimit; ++probes, i = (i + 1) % kProbeLimit) {
    ChannelSiteEntry& e = entries[i];
    std::uint32_t state = e.state.load(std::memory_order_acquire);
    if (state == ChannelSiteEntry::empty &&
        e.state.compare_exchange_strong(state, ChannelSiteEntry::claiming,
                                        std::memory_order_acquire)) {
      e.site = where;
      e.state.store(ChannelSiteEntry::ready, std::memory_order_release);
      return static_cast<std::uint32_t>(i);
    }
    while (state == ChannelSiteEntry::claiming) {  // another thread is naming it: a few ns
      cpu_relax();
      state = e.state.load(std::memory_order_acquire);
    }
    if (same_site(e.site, where)) return static_cast<std::uint32_t>(i);
  }
  ChannelSiteEntry& overflow = entries[kProbeLimit];
  std::uint32_t state = ChannelSiteEntry::empty;
  if (overflow.state.compare_exchange_strong(state, ChannelSiteEntry::claiming,
                                             std::memory_order_acquire)) {
    overflow.site = std::source_location::current();  // "other sites": see the header
    overflow.state.store(ChannelSiteEntry::ready, std::memory_order_release);
  }
  return static_cast<std::uint32_t>(kProbeLimit);
}

}  // namespace

std::uint32_t note_channel_created(const std::source_location& where, std::size_t bytes) noexcept {
  const std::uint32_t index = entry_for(where);
  ChannelSiteEntry& e = table()[index];
  e.live_objects.fetch_add(1, std::memory_order_relaxed);
  e.live_bytes.fetch_add(bytes, std::memory_order_relaxed);
  e.created_objects.fetch_add(1, std::memory_order_relaxed);
  e.created_bytes.fetch_add(bytes, std::memory_order_relaxed);
  return index;
}

void note_channel_destroyed(std::uint32_t entry, std::size_t bytes) noexcept {
  ChannelSiteEntry& e = table()[entry];
  e.live_objects.fetch_sub(1, std::memory_order_relaxed);
  e.live_bytes.fetch_sub(bytes, std::memory_order_relaxed);
}

const ChannelSiteEntry* channel_site_table() noexcept { return table(); }

}  // namespace goro::detail
