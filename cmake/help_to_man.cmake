# cmake -DBIN=path -DNAME=faultline -DVERSION=0.2.0 -DDOCDIR=share/doc/faultline
#       -DOUT=faultline.1 -P help_to_man.cmake
# A manual page made from the program's own --help, so the two never disagree: NAME from the
# first line of the help, the options verbatim in a preformatted block.
execute_process(COMMAND ${BIN} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${BIN} --help exited with ${rc}")
endif()
# CLI11 prints the path it was run as: the manual names the program.
string(REPLACE "${BIN}" "${NAME}" help "${help}")
string(REGEX MATCH "^[^\n]*" first "${help}")
string(REGEX REPLACE "^${NAME}: " "" first "${first}")
# roff: a backslash is \e, a line starting with . or ' would be a request.
string(REPLACE "\\" "\\e" help "${help}")
string(REGEX REPLACE "\n([.'])" "\n\\\\&\\1" help "${help}")
string(TOUPPER "${NAME}" upper)
string(TIMESTAMP year "%Y" UTC)
file(WRITE ${OUT}
".TH ${upper} 1 \"${year}\" \"${NAME} ${VERSION}\" \"User Commands\"
.SH NAME
${NAME} \\- ${first}
.SH DESCRIPTION
.nf
${help}
.fi
.SH SEE ALSO
The README and the references (docs/) in ${DOCDIR} under the installation prefix
(/usr for the Debian package, /usr/local by default), the scenario files in ${DOCDIR}/examples.
")
