target_sources(goro PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/src/condition_variable.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/log.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/mutex_profile.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/once.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/park.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/record_pool.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/rwmutex.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/scheduler.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/stack_pool.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/sync.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/thread_registry.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/wait_clock.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/wait_record.cpp)
