# Installs a package.json + package-lock.json into WORK_DIR with `npm ci` (cmake -P script run
# by the build). Fails the build with a clear message when npm or the registry is unreachable.
# Inputs: PACKAGE_DIR (holds package.json and package-lock.json), WORK_DIR, STAMP.
find_program(NPM npm)
if(NOT NPM)
  message(FATAL_ERROR "npm is not installed: the dashboard needs it at build time to fetch its "
                      "browser packages (scripts/install_deps.sh installs it)")
endif()
file(MAKE_DIRECTORY "${WORK_DIR}")
configure_file("${PACKAGE_DIR}/package.json" "${WORK_DIR}/package.json" COPYONLY)
configure_file("${PACKAGE_DIR}/package-lock.json" "${WORK_DIR}/package-lock.json" COPYONLY)
execute_process(
  COMMAND "${NPM}" ci --no-audit --no-fund --prefer-offline --loglevel=error
  WORKING_DIRECTORY "${WORK_DIR}"
  RESULT_VARIABLE result
  OUTPUT_VARIABLE output
  ERROR_VARIABLE output)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "npm ci in ${WORK_DIR} failed (is the npm registry reachable? the build "
                      "fetches ${PACKAGE_DIR}/package-lock.json's packages from it):\n${output}")
endif()
file(TOUCH "${STAMP}")
