# futura_mpirun(<out var> <np> <program> [args...]): the command that runs a program on <np>
# local processes, for the MPI tests and examples. Open MPI's mpirun refuses more processes
# than cores without --oversubscribe, and refuses to run as root unless told so:
# FUTURA_MPIEXEC_ENV holds what a test must set in its ENVIRONMENT for that (and nothing is
# set in the user's own environment).
execute_process(COMMAND ${MPIEXEC_EXECUTABLE} --version OUTPUT_VARIABLE futura_mpiexec_version
                ERROR_QUIET)
set(FUTURA_MPIEXEC_FLAGS "")
set(FUTURA_MPIEXEC_ENV "")
if(futura_mpiexec_version MATCHES "Open MPI|OpenRTE")
  set(FUTURA_MPIEXEC_FLAGS --oversubscribe)
  set(FUTURA_MPIEXEC_ENV OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)
endif()

function(futura_mpirun out np)
  set(${out} ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np} ${FUTURA_MPIEXEC_FLAGS}
      ${MPIEXEC_PREFLAGS} ${ARGN} ${MPIEXEC_POSTFLAGS} PARENT_SCOPE)
endfunction()
