# Compiles firmware-config/dev.textproto and softhsm2.conf.in into signetd,
# so that `signetd --dev` needs no source tree. file(WRITE) copies the text
# as is (configure_file would replace softhsm2.conf.in's @TOKENDIR@).
set(dev_config ${PROJECT_SOURCE_DIR}/firmware-config/dev.textproto)
set(softhsm_conf ${PROJECT_SOURCE_DIR}/firmware-config/softhsm2.conf.in)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${dev_config} ${softhsm_conf})
file(READ ${dev_config} dev_config_text)
file(READ ${softhsm_conf} softhsm_conf_text)
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/dev_templates.cc.new
  "// Generated from firmware-config/ by appliance/dev/dev_templates.cmake.\n"
  "namespace signet::dev {\n"
  "extern const char kDevConfigTemplate[];\n"
  "extern const char kSoftHsmConfTemplate[];\n"
  "const char kDevConfigTemplate[] = R\"signet_template(${dev_config_text})signet_template\";\n"
  "const char kSoftHsmConfTemplate[] = R\"signet_template(${softhsm_conf_text})signet_template\";\n"
  "}  // namespace signet::dev\n")
# Only a changed text touches the file (and rebuilds it).
configure_file(${CMAKE_CURRENT_BINARY_DIR}/dev_templates.cc.new
               ${CMAKE_CURRENT_BINARY_DIR}/dev_templates.cc COPYONLY)
