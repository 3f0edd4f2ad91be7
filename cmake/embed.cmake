# Turns the text file SRC into a C file OUT defining `const char NAME[]`.
file(READ ${SRC} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
file(WRITE ${OUT} "/* generated from ${SRC}; do not edit */\nconst char ${NAME}[] = {${body}0x00};\n")
