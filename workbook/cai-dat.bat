@echo off
rem ThiDua set-up on one Windows PC: double-click this file in the unpacked ThiDua-<version>-win64.zip.
rem No Python needed: the bundled uv.exe installs a pinned CPython (the only download) and then the
rem bundled wheels offline, into an ASCII-only folder (%LOCALAPPDATA%\ThiDua, or %PUBLIC%\ThiDua when
rem the user name has other letters), because xlwings' VBA side opens files and loads its DLL with ANSI
rem calls. Then it writes xlwings.conf beside the workbook. Safe to run again.
rem Folder names with spaces, (1), &, %, ! and Vietnamese letters: delayed expansion is off, every path
rem is quoted, no expanded path sits inside an if/for block, this folder is used by relative names and
rem shown through a for variable (never re-expanded), and uv gets only relative or ASCII-only paths
rem ("call" expands percent signs twice). Messages go through :say ("echo." since Wine lacks "echo(").
rem This file is UTF-8 and switches the console to code page 65001.
setlocal EnableExtensions DisableDelayedExpansion
chcp 65001 >nul 2>&1
set "PYVER=3.12.16"
rem Enter this file's folder (run as administrator, the current folder is System32). Wine 8 drops "%"
rem from %~dp0 and %CD%: there pushd fails and the tests start in the folder itself.
pushd "%~dp0" 2>nul
for %%I in (.) do set "HERE=%%~fI"
set "UV=goi-cai-dat\uv.exe"
rem uv.cmd: the stand-in that records its arguments, used by the tests under Wine.
if not exist "%UV%" set "UV=goi-cai-dat\uv.cmd"
set "WHEELS=goi-cai-dat\wheels"
set "WHL="
set "VERSION="
for %%W in (goi-cai-dat\wheels\thidua-*.whl) do set "WHL=%%~nW"
if defined WHL for /f "tokens=2 delims=-" %%V in ("%WHL%") do set "VERSION=%%V"

rem The environment's root: %LOCALAPPDATA%\ThiDua when that path is plain ASCII, else %PUBLIC%\ThiDua.
set "BASE=%LOCALAPPDATA%"
set "P=%BASE%"
call :check_plain
if defined BAD set "BASE=%PUBLIC%"
set "P=%BASE%"
call :check_plain
if defined BAD set "BASE=%SystemDrive%\Users\Public"
set "ENVROOT=%BASE%\ThiDua"
if not exist "%ENVROOT%\" mkdir "%ENVROOT%"
set "LOG=%ENVROOT%\cai-dat.log"
type nul > "%LOG%"

set "MSG=============================================================="
call :say
set "MSG= CÀI ĐẶT THIDUA %VERSION% CHO SỔ LÀM VIỆC ThiDua2019.xlsm"
call :say
set "MSG=============================================================="
call :say
set "MSG=Thư mục sổ làm việc: "
call :say_here
set "MSG=Thư mục môi trường Python: %ENVROOT%"
call :say

set "ARCH=%PROCESSOR_ARCHITECTURE%"
if defined PROCESSOR_ARCHITEW6432 set "ARCH=%PROCESSOR_ARCHITEW6432%"
if /i "%ARCH%"=="x86" goto :not_64bit
if /i not "%ARCH%"=="AMD64" goto :not_amd64
if not defined VERSION goto :not_unpacked
if not exist "%UV%" goto :not_unpacked
if not exist "ThiDua2019.xlsm" goto :not_unpacked

call :python_stub
call :onedrive
set "P=%HERE%"
call :check_plain
set "PLAIN_HERE=1"
if defined BAD set "PLAIN_HERE="
if not defined PLAIN_HERE call :warn_letters

set "VENV=%ENVROOT%\%VERSION%\venv"
set "XLTEMP=%ENVROOT%\tmp"
set "UV_PYTHON_INSTALL_DIR=%ENVROOT%\python"
set "UV_CACHE_DIR=%ENVROOT%\uv-cache"
set "UV_NO_CONFIG=1"
set "UV_PYTHON_DOWNLOADS=manual"
rem Trust the certificates Windows trusts (offices often inspect HTTPS through their antivirus or proxy).
set "UV_SYSTEM_CERTS=1"
if not exist "%XLTEMP%\" mkdir "%XLTEMP%"

set "MSG=[1/5] Cài Python %PYVER% (tải từ Internet một lần, khoảng 30 MB) ..."
call :say
call "%UV%" python install %PYVER% --no-bin --no-registry >> "%LOG%" 2>&1
if errorlevel 1 goto :fail
set "MSG=[2/5] Tạo môi trường Python riêng: %VENV%"
call :say
call "%UV%" venv "%VENV%" --clear --managed-python --python %PYVER% >> "%LOG%" 2>&1
if errorlevel 1 goto :fail
if not exist "%VENV%\Scripts\pythonw.exe" goto :fail
set "MSG=[3/5] Cài các thư viện có sẵn trong gói (không cần mạng) ..."
call :say
call "%UV%" pip install --python "%VENV%\Scripts\python.exe" --offline --no-index --no-build --find-links "%WHEELS%" -r "%WHEELS%\requirements-win64.txt" >> "%LOG%" 2>&1
if errorlevel 1 goto :fail
call "%UV%" run --no-project --offline --python "%VENV%\Scripts\python.exe" -- python -c "import thidua.excel, xlwings; print('thidua', thidua.__version__, 'xlwings', xlwings.__version__)" >> "%LOG%" 2>&1
if errorlevel 1 goto :fail

set "MSG=[4/5] Ghi tệp cấu hình xlwings.conf cạnh sổ làm việc ..."
call :say
if exist "xlwings.conf" del "xlwings.conf"
set "CONF=xlwings.conf"
call :write_conf
if not exist "xlwings.conf" goto :fail
if not defined PLAIN_HERE set "CONF_USER=1"
if defined ONEDRIVE set "CONF_USER=1"
if defined CONF_USER call :user_conf

set "MSG=[5/5] Bỏ dấu «tải từ Internet» (Mark of the Web) để Excel cho chạy macro ..."
call :say
rem "call": harmless for powershell.exe, and lets the tests put a recording powershell.cmd first on PATH.
call powershell -NoProfile -ExecutionPolicy Bypass -Command "Get-ChildItem -LiteralPath . -Recurse | Unblock-File" >> "%LOG%" 2>&1
if errorlevel 1 call :warn_unblock

set "MSG="
call :say
set "MSG=XONG. Mở ThiDua2019.xlsm, bấm «Enable Content» / «Bật nội dung» khi Excel hỏi, rồi dùng các nút ở trang «Hướng dẫn»."
call :say
set "MSG=Nhật ký cài đặt: cai-dat.log trong thư mục "
call :say_here
call :keep_log
popd
pause
exit /b 0

:fail
set "MSG="
call :say
set "MSG=Nếu Excel đang mở sổ ThiDua2019.xlsm, đóng Excel rồi chạy lại cai-dat.bat. Bước 1 cần mạng Internet."
call :say
set "MSG=LỖI: cài đặt chưa xong. Xem nhật ký cai-dat.log (gửi tệp này cho người hỗ trợ kỹ thuật) trong thư mục "
call :say_here
goto :end_error

:not_64bit
set "MSG=LỖI: máy này chạy Windows 32-bit (%ARCH%). ThiDua cần Windows 64-bit: Python và thư viện pandas không có bản 32-bit. Xem nhật ký cai-dat.log trong thư mục "
call :say_here
goto :end_error

:not_amd64
set "MSG=LỖI: máy này dùng bộ xử lý %ARCH%. ThiDua cần Windows 64-bit trên bộ xử lý Intel/AMD (x64). Xem nhật ký cai-dat.log trong thư mục "
call :say_here
goto :end_error

:not_unpacked
set "MSG=LỖI: không thấy ThiDua2019.xlsm, goi-cai-dat\uv.exe hoặc goi-cai-dat\wheels\thidua-*.whl cạnh tệp này. Hãy giải nén toàn bộ tệp ThiDua-...-win64.zip (chuột phải, «Extract All» / «Giải nén tất cả») rồi chạy cai-dat.bat trong thư mục đã giải nén. Xem nhật ký cai-dat.log trong thư mục "
call :say_here
goto :end_error

:end_error
call :keep_log
popd
pause
exit /b 1

:say
rem Echo MSG to the console and the log; delayed expansion here keeps &, %, ! and ( ) in MSG literal.
setlocal EnableDelayedExpansion
echo.!MSG!
>> "%LOG%" echo.!MSG!
endlocal
exit /b 0

:say_here
rem MSG (constant text, no & | < >) followed by this folder's full name, taken from a for variable.
for %%I in (.) do echo.%MSG%%%~fI
for %%I in (.) do >> "%LOG%" echo.%MSG%%%~fI
exit /b 0

:keep_log
copy /y "%LOG%" "cai-dat.log" >nul 2>&1
exit /b 0

:check_plain
rem BAD=1 unless P holds only letters A-Z, digits, spaces and \ : . _ - ( ): Vietnamese letters, & % !
rem and the like make it "not plain" (unsafe for "call", and for xlwings' ANSI file calls).
set "BAD="
if not defined P set "BAD=1"
if not defined P exit /b 0
for /f "delims=ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789\:._-() " %%C in ("%P%") do set "BAD=1"
exit /b 0

:python_stub
rem The Microsoft Store's python.exe stub lives in ...\Microsoft\WindowsApps. Searched with a plain
rem "find" (Wine's cmd knows neither !var:a=b! substitution nor find /i; Windows spells these names so).
for %%P in (python.exe) do > "%ENVROOT%\python-tren-may.txt" echo.%%~$PATH:P
find "\WindowsApps" "%ENVROOT%\python-tren-may.txt" >nul 2>&1
if errorlevel 1 exit /b 0
set "MSG=Ghi chú: lệnh python trên máy này là lối tắt của Microsoft Store (thư mục WindowsApps), không phải Python thật. ThiDua không dùng nó và không cần cài Python: bước 1 tự cài Python riêng cho ThiDua."
call :say
exit /b 0

:onedrive
set "ONEDRIVE="
for %%I in (.) do > "%ENVROOT%\thu-muc.txt" echo.%%~fI
find "OneDrive" "%ENVROOT%\thu-muc.txt" >nul 2>&1
if not errorlevel 1 set "ONEDRIVE=1"
find "SharePoint" "%ENVROOT%\thu-muc.txt" >nul 2>&1
if not errorlevel 1 set "ONEDRIVE=1"
if not defined ONEDRIVE exit /b 0
set "MSG=CẢNH BÁO: thư mục này được OneDrive/SharePoint đồng bộ; với thư mục như vậy xlwings có thể bỏ qua tệp xlwings.conf cạnh sổ làm việc. Nên chép cả thư mục sang ổ của máy, ví dụ C:\ThiDua, rồi chạy lại cai-dat.bat ở đó."
call :say
exit /b 0

:warn_letters
set "MSG=CẢNH BÁO: đường dẫn thư mục có chữ có dấu hoặc ký tự đặc biệt; Excel (xlwings) có thể không đọc được xlwings.conf ở đây. Nên đặt thư mục ThiDua ở đường dẫn không dấu, ví dụ C:\ThiDua."
call :say
exit /b 0

:write_conf
rem xlwings.bas GetConfigFromFile reads "key","value" lines; the values here are ASCII-only paths.
> "%CONF%" echo "Interpreter_Win","%VENV%\Scripts\pythonw.exe"
>> "%CONF%" echo "TEMP DIR","%XLTEMP%"
exit /b 0

:user_conf
rem Also the user's own xlwings.conf, read when the one beside the workbook is not (an old one is kept).
set "P=%USERPROFILE%"
call :check_plain
if defined BAD exit /b 0
if not exist "%USERPROFILE%\.xlwings\" mkdir "%USERPROFILE%\.xlwings"
if exist "%USERPROFILE%\.xlwings\xlwings.conf" copy /y "%USERPROFILE%\.xlwings\xlwings.conf" "%USERPROFILE%\.xlwings\xlwings.conf.truoc-thidua" >nul
set "CONF=%USERPROFILE%\.xlwings\xlwings.conf"
call :write_conf
set "MSG=Đã ghi thêm cấu hình vào %CONF%"
call :say
exit /b 0

:warn_unblock
set "MSG=Ghi chú: không bỏ được dấu «tải từ Internet» tự động. Nếu Excel báo chặn macro: chuột phải ThiDua2019.xlsm, chọn Properties / Thuộc tính, đánh dấu «Unblock» / «Bỏ chặn», bấm OK."
call :say
exit /b 0
