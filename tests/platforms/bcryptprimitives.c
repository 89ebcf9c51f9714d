/* Test-only stand-in for Windows' bcryptprimitives.dll, which Wine 8 lacks. Rust's standard
 * library (since 1.78) takes its random numbers from ProcessPrng in that DLL; Windows 10 and
 * later ship it, so this file is built only into the Wine prefix the tests use and never
 * into a package. It answers ProcessPrng with BCryptGenRandom, which Wine has. */
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE out, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (BCryptGenRandom(NULL, out, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0) return FALSE;
        out += chunk;
        len -= chunk;
    }
    return TRUE;
}
