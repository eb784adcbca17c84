# goro::net (goro/net.hpp): TCP, UDP and Unix sockets on the runtime's poller.
target_sources(goro_net PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/src/address.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/net.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/socket.cpp)
