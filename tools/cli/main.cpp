#include <iostream>
#include "flowinone/core/runtime.h"
int main() { std::cout << fi::runtime_description() << "\n"; }
