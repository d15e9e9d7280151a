// Anchor program for the LibTorch precompiled header of executables (-fPIE).
int main() { return 0; }
