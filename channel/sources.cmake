target_sources(goro_channel PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/src/channel.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/channel_sites.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/context.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/errgroup.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/select.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/semaphore_context.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/timer.cpp)
# OS signals delivered to a Channel<int> (goro/signal.hpp): a channel feature, so it is
# built here although its files still sit in runtime/ (runtime/src/signals.cpp,
# runtime/include/goro/signal.hpp); the runtime must not name a channel symbol.
target_sources(goro_channel PRIVATE ${PROJECT_SOURCE_DIR}/runtime/src/signals.cpp)
