/* bcryptprimitives.dll for Wine 8, which lacks it: Rust's standard library (uv.exe) imports ProcessPrng from
   it on Windows 10+. ProcessPrng fills a buffer from the system's random generator; here through
   RtlGenRandom (advapi32 SystemFunction036), which Wine has. Built by the tests with Debian's
   x86_64-w64-mingw32-gcc (package gcc-mingw-w64-x86-64) into the test's own Wine prefix. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T size)
{
    while (size > 0) {
        ULONG chunk = size > 0x10000000 ? 0x10000000 : (ULONG)size;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        size -= chunk;
    }
    return TRUE;
}
