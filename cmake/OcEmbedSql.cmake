# Writes OUT: a C header with one string constant per SQL file of DIR,
# oc_sql_<file name without .sql>, holding the file's text unchanged, so
# that the daemon sends exactly the statements a reader finds in
# schemas/sql/statements/. Run as: cmake -DDIR=... -DOUT=... -P OcEmbedSql.cmake
file(GLOB files "${DIR}/*.sql")
list(SORT files)
set(text "/* Generated from ${DIR} by cmake/OcEmbedSql.cmake: do not edit. */\n")
string(APPEND text "#ifndef OC_SQL_STATEMENTS_H\n#define OC_SQL_STATEMENTS_H\n")
foreach(f ${files})
  get_filename_component(name "${f}" NAME_WE)
  file(READ "${f}" sql)
  string(REPLACE "\\" "\\\\" sql "${sql}")
  string(REPLACE "\"" "\\\"" sql "${sql}")
  string(REPLACE "\n" "\\n\"\n    \"" sql "${sql}")
  string(APPEND text "\nstatic const char oc_sql_${name}[] =\n    \"${sql}\";\n")
endforeach()
string(APPEND text "\n#endif\n")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT old STREQUAL text)
  file(WRITE "${OUT}" "${text}")
endif()
