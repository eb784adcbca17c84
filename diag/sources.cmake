target_sources(goro PRIVATE ${CMAKE_CURRENT_LIST_DIR}/src/diag.cpp)
target_sources(goro PRIVATE ${CMAKE_CURRENT_LIST_DIR}/src/report.cpp)
