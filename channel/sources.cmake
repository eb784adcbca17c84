target_sources(goro_channel PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/src/channel.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/channel_sites.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/context.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/errgroup.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/select.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/semaphore_context.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/signals.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/timer.cpp)
