# Runs a command that must fail, within a time limit, printing certain lines.
#   cmake -DCOMMAND="mpirun;...;faults;worker_abort" -DEXPECT="regex;regex" -DLIMIT=30 -P expect_failure.cmake
# Passes when the command exits non-zero (a timeout is a failure of the test), within LIMIT
# seconds, and every regex of EXPECT matches its output (stdout and stderr together).
string(TIMESTAMP start "%s")
execute_process(COMMAND ${COMMAND} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out
                TIMEOUT ${LIMIT})
string(TIMESTAMP stop "%s")
math(EXPR took "${stop} - ${start}")
message("${out}")
message("exit: ${rc}, after ${took} s")
if(rc MATCHES "timeout" OR rc MATCHES "Process terminated")
  message(FATAL_ERROR "FAIL: still running after ${LIMIT} s: a dead worker left the job hanging")
endif()
if(rc EQUAL 0)
  message(FATAL_ERROR "FAIL: exited 0")
endif()
foreach(regex IN LISTS EXPECT)
  if(NOT out MATCHES "${regex}")
    message(FATAL_ERROR "FAIL: no output matches '${regex}'")
  endif()
endforeach()
message("PASS")
