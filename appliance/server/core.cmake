# signetd's building blocks that need no running server: authorization,
# rate limits, the byte budget, the idle-call watch, the per-token work
# queues, the shutdown bound and the status mapping.
add_library(signet_server_core STATIC
  ${CMAKE_CURRENT_LIST_DIR}/authorizer.cc
  ${CMAKE_CURRENT_LIST_DIR}/byte_budget.cc
  ${CMAKE_CURRENT_LIST_DIR}/call_log.cc
  ${CMAKE_CURRENT_LIST_DIR}/grpc_status.cc
  ${CMAKE_CURRENT_LIST_DIR}/idle_call_watch.cc
  ${CMAKE_CURRENT_LIST_DIR}/mail_buffer.cc
  ${CMAKE_CURRENT_LIST_DIR}/rate_limiter.cc
  ${CMAKE_CURRENT_LIST_DIR}/shutdown_bound.cc
  ${CMAKE_CURRENT_LIST_DIR}/token_health.cc
  ${CMAKE_CURRENT_LIST_DIR}/unix_listener.cc
  ${CMAKE_CURRENT_LIST_DIR}/work_queue.cc
)
target_link_libraries(signet_server_core PUBLIC
  signet_cms signet_token_keys signet_proto absl::status absl::statusor absl::strings absl::time
  Threads::Threads)
signet_target(signet_server_core)

if(SIGNET_BUILD_TESTS)
  foreach(t authorizer_test byte_budget_test call_log_test grpc_status_test idle_call_watch_test
            mail_buffer_test rate_limiter_test shutdown_bound_test token_health_test
            unix_listener_test work_queue_test)
    signet_test(NAME ${t} SOURCES ${CMAKE_CURRENT_LIST_DIR}/${t}.cc LIBS signet_server_core
                signet_test_fixtures absl::synchronization)
  endforeach()
endif()

# The services and the daemon.
add_library(signet_server STATIC
  ${CMAKE_CURRENT_LIST_DIR}/admission.cc
  ${CMAKE_CURRENT_LIST_DIR}/appliance.cc
  ${CMAKE_CURRENT_LIST_DIR}/daemon.cc
  ${CMAKE_CURRENT_LIST_DIR}/transport_identity.cc
  ${CMAKE_CURRENT_LIST_DIR}/key_registry.cc
  ${CMAKE_CURRENT_LIST_DIR}/keys_service.cc
  ${CMAKE_CURRENT_LIST_DIR}/mail_service.cc
  ${CMAKE_CURRENT_LIST_DIR}/metrics_endpoint.cc
  ${CMAKE_CURRENT_LIST_DIR}/server_limits.cc
  ${CMAKE_CURRENT_LIST_DIR}/signature_stamping.cc
  ${CMAKE_CURRENT_LIST_DIR}/timestamp_authority.cc
  ${CMAKE_CURRENT_LIST_DIR}/timestamp_checker.cc
  ${CMAKE_CURRENT_LIST_DIR}/timestamp_service.cc
  ${CMAKE_CURRENT_LIST_DIR}/unary_call.cc
  ${CMAKE_CURRENT_LIST_DIR}/certificate_directory.cc
  ${CMAKE_CURRENT_LIST_DIR}/directory_service.cc
)
target_link_libraries(signet_server PUBLIC signet_server_core signet_server_config signet_audit
                      signet_provider signet_pcsc signet_http signet_timestamp signet_tsa
                      signet_directory signet_directory_public signet_directory_store
                      signet_directory_ldap signet_directory_smimea
                      gRPC::grpc++ gRPC::grpc++_reflection)
signet_target(signet_server)

if(SIGNET_BUILD_TESTS)
  signet_test(NAME mail_call_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/mail_call_test.cc
              LIBS signet_server absl::synchronization)
  # A Daemon in this process on the development token (appliance/dev).
  signet_test(NAME daemon_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/daemon_test.cc
              LIBS signet_server signet_dev signet_audit signet_test_fixtures LABELS softhsm)
endif()

add_executable(signetd ${CMAKE_CURRENT_LIST_DIR}/signetd_main.cc)
target_link_libraries(signetd PRIVATE signet_server signet_server_config signet_dev
                      absl::synchronization)
signet_target(signetd)
