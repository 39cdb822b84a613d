@echo off
rem ThiDua set-up on one Windows PC: double-click this file in the unpacked ThiDua-<version>-win64.zip.
rem No Python needed: the bundled uv.exe installs a pinned CPython (downloaded once, or taken from the
rem bundle when it carries one: goi-cai-dat\python, thidua bundle-windows --python-archive) and then the
rem bundled wheels offline, into an ASCII-only folder (%LOCALAPPDATA%\ThiDua, or %PUBLIC%\ThiDua when
rem the user name has other letters), because xlwings' VBA side opens files and loads its DLL with ANSI
rem calls. When the download fails and the PC has a Python 3.12 of its own, that one is used. Then it
rem writes xlwings.conf beside the workbook (and, when Excel may not read that one, into the user's
rem own xlwings.conf: merged, never overwritten). Safe to run again. Every step it skips is listed
rem before the last line.
rem Folder names with spaces, (1), &, %, ! and Vietnamese letters: delayed expansion is off, every path
rem is quoted, no expanded path sits inside an if/for block, this folder is used by relative names and
rem shown through a for variable (never re-expanded), and uv gets only relative or ASCII-only paths
rem ("call" expands percent signs twice). Messages go through :say ("echo." since Wine lacks "echo(").
rem This file is UTF-8 and switches the console to code page 65001.
setlocal EnableExtensions DisableDelayedExpansion
chcp 65001 >nul 2>&1
set "PYVER=3.12.16"
rem The longest folder name that leaves room for the bundle's own paths under the 260-character limit.
set "MAXHERE=160"
rem Enter this file's folder (run as administrator, the current folder is System32). Wine 8 drops "%"
rem from %~dp0 and %CD%: there pushd fails and the tests start in the folder itself. Anywhere else a
rem failed pushd (a path too long, a network path) stops here, before anything is written.
pushd "%~dp0" 2>nul
if not exist "%~nx0" goto :no_folder
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
set "SKIPPED=%ENVROOT%\bo-qua.txt"
type nul > "%SKIPPED%"

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

call :check_length
if defined LONGP goto :too_long
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
rem A Python environment of the user's own (an active venv, conda, PYTHONHOME) is no part of ThiDua's.
set "VIRTUAL_ENV="
set "CONDA_PREFIX="
set "PYTHONHOME="
set "PYTHONPATH="
set "UV_PYTHON="
set "UV_PYTHON_DOWNLOADS=manual"
rem Trust the certificates Windows trusts (offices often inspect HTTPS through their antivirus or proxy).
set "UV_SYSTEM_CERTS=1"
if not exist "%XLTEMP%\" mkdir "%XLTEMP%"

set "PYOFFLINE="
if exist "goi-cai-dat\python\python-offline.txt" call :offline_python
if defined OFFLINE_BAD goto :fail
set "MSG=[1/5] Cài Python %PYVER% (tải từ Internet một lần, khoảng 30 MB) ..."
if defined PYOFFLINE set "MSG=[1/5] Cài Python %PYVER% có sẵn trong gói (không cần Internet) ..."
call :say
set "PYREQ=--managed-python --python %PYVER%"
call "%UV%" python install %PYVER% --no-bin --no-registry >> "%LOG%" 2>&1
if errorlevel 1 goto :python_missing
:make_venv
set "MSG=[2/5] Tạo môi trường Python riêng: %VENV%"
call :say
call "%UV%" venv "%VENV%" --clear %PYREQ% >> "%LOG%" 2>&1
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
set "CONF=xlwings.conf"
set "CONF_SHOWN=xlwings.conf cạnh sổ làm việc"
call :put_conf
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
call :list_skipped
set "MSG=XONG. Mở ThiDua2019.xlsm, bấm «Enable Content» / «Bật nội dung» khi Excel hỏi, rồi dùng các nút ở trang «Hướng dẫn»."
if defined ANY_SKIPPED set "MSG=XONG, NHƯNG CÓ BƯỚC BỎ QUA (xem danh sách ngay trên). Mở ThiDua2019.xlsm, bấm «Enable Content» / «Bật nội dung» khi Excel hỏi, rồi dùng các nút ở trang «Hướng dẫn»."
call :say
set "MSG=Nhật ký cài đặt: cai-dat.log trong thư mục "
call :say_here
call :keep_log
popd
pause
exit /b 0

:python_missing
rem The download failed (no Internet, a proxy, a firewall): a Python 3.12 already on this PC will do.
if defined PYOFFLINE goto :fail
set "MSG=Không tải được Python %PYVER% (chi tiết trong cai-dat.log). Tìm Python 3.12 64-bit đã cài sẵn trên máy ..."
call :say
call "%UV%" python find 3.12 --no-managed-python > "%ENVROOT%\python-da-cai.txt" 2>&1
if errorlevel 1 goto :no_python
set "SYSPY="
set /p SYSPY=< "%ENVROOT%\python-da-cai.txt"
set "MSG=Dùng Python đã cài trên máy: %SYSPY%"
call :say
set "PYREQ=--no-managed-python --python 3.12"
goto :make_venv

:no_python
type "%ENVROOT%\python-da-cai.txt" >> "%LOG%"
set "MSG="
call :say
set "MSG=LỖI: không tải được Python %PYVER% từ Internet và máy này chưa cài Python 3.12 64-bit. Chọn một trong ba cách rồi chạy lại cai-dat.bat:"
call :say
set "MSG=  1. Cơ quan vào Internet qua máy chủ proxy: mở cửa sổ lệnh (cmd), gõ  set HTTPS_PROXY=http://ĐỊA-CHỈ-PROXY:CỔNG  (hỏi người quản trị mạng), rồi chạy cai-dat.bat từ chính cửa sổ đó."
call :say
set "MSG=  2. Máy không có Internet: xin người hỗ trợ kỹ thuật gói cài đặt có sẵn Python (tạo bằng lệnh thidua bundle-windows --python-archive TỆP), cài không cần mạng."
call :say
set "MSG=  3. Cài Python 3.12 bản 64-bit (python.org, «Windows installer (64-bit)»); cai-dat.bat sẽ dùng Python đó."
call :say
set "MSG=Nhật ký cài đặt (gửi cho người hỗ trợ kỹ thuật): cai-dat.log trong thư mục "
call :say_here
goto :end_error

:fail
set "MSG="
call :say
set "MSG=Nếu Excel đang mở sổ ThiDua2019.xlsm, đóng Excel rồi chạy lại cai-dat.bat."
call :say
set "MSG=LỖI: cài đặt chưa xong. Xem nhật ký cai-dat.log (gửi tệp này cho người hỗ trợ kỹ thuật) trong thư mục "
call :say_here
goto :end_error

:no_folder
rem Nothing is written: the log would land in the current folder (System32 when run as administrator).
rem The folder's name is taken on a line of its own (Wine's cmd mangles the rest of a line after %~dp0).
set "SELF=%~dp0"
set "MSG=LỖI: không vào được thư mục chứa cai-dat.bat: đường dẫn quá dài, trên 260 ký tự, hoặc là thư mục mạng. Chưa cài gì. Hãy chép cả thư mục đã giải nén vào một thư mục ngắn trên ổ của máy, ví dụ C:\ThiDua, rồi chạy lại cai-dat.bat ở đó."
call :say
set "MSG=Thư mục: %SELF%"
call :say
pause
exit /b 1

:too_long
set "MSG=LỖI: đường dẫn thư mục dài quá %MAXHERE% ký tự: Windows và Excel không mở được các tệp trong đó, vì giới hạn 260 ký tự cho cả tên tệp. Chưa cài gì. Hãy chép cả thư mục vào một thư mục ngắn, ví dụ C:\ThiDua, rồi chạy lại cai-dat.bat ở đó."
call :say
set "MSG=Thư mục hiện tại: "
call :say_here
set "MSG=Nhật ký: %LOG%"
call :say
popd
pause
exit /b 1

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
if defined LOG >> "%LOG%" echo.!MSG!
endlocal
exit /b 0

:say_here
rem MSG (constant text, no & | < >) followed by this folder's full name, taken from a for variable.
for %%I in (.) do echo.%MSG%%%~fI
for %%I in (.) do >> "%LOG%" echo.%MSG%%%~fI
exit /b 0

:skip
rem A step left undone: said now, and listed again before the last line.
call :say
setlocal EnableDelayedExpansion
>> "%SKIPPED%" echo.- !MSG!
endlocal
set "ANY_SKIPPED=1"
exit /b 0

:list_skipped
if not defined ANY_SKIPPED exit /b 0
set "MSG=CÁC BƯỚC ĐÃ BỎ QUA:"
call :say
type "%SKIPPED%"
type "%SKIPPED%" >> "%LOG%"
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

:check_length
rem LONGP=1 when this folder's full name is longer than MAXHERE (160) characters: its first 160 differ
rem from the whole. Percent expansion inside quotes, where &, %, ! and ( ) stay literal (Wine's cmd has
rem no !var:~n! substrings, and a %var:~n% past the end may give a stray character there).
set "LONGP="
set "HEAD=%HERE:~0,160%"
if not "%HEAD%"=="%HERE%" set "LONGP=1"
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

:offline_python
rem The bundle carries CPython (thidua bundle-windows --python-archive): uv installs it from a copy in
rem ENVROOT (an ASCII path, so a plain file:// address) through a downloads list naming that copy and
rem its SHA-256, written from goi-cai-dat\python\python-offline.txt (KEY=VALUE lines, ASCII).
set "OFFLINE_BAD=1"
set "OFF_FILE="
for /f "usebackq tokens=1,* delims==" %%A in ("goi-cai-dat\python\python-offline.txt") do set "OFF_%%A=%%B"
if not defined OFF_FILE exit /b 0
if not exist "goi-cai-dat\python\%OFF_FILE%" exit /b 0
if not exist "%ENVROOT%\python-offline\" mkdir "%ENVROOT%\python-offline"
copy /y "goi-cai-dat\python\%OFF_FILE%" "%ENVROOT%\python-offline\%OFF_FILE%" >nul 2>> "%LOG%"
if errorlevel 1 exit /b 0
set "PYVER=%OFF_MAJOR%.%OFF_MINOR%.%OFF_PATCH%"
set "PYURL=%ENVROOT:\=/%"
set "PYJSON=%ENVROOT%\python-offline\python-downloads.json"
> "%PYJSON%" echo {"cpython-%PYVER%-windows-x86_64-none": {"name": "cpython", "arch": {"family": "x86_64", "variant": null}, "os": "windows", "libc": "none", "major": %OFF_MAJOR%, "minor": %OFF_MINOR%, "patch": %OFF_PATCH%, "prerelease": "", "url": "file:///%PYURL%/python-offline/%OFF_FILE%", "sha256": "%OFF_SHA256%", "variant": null, "build": "%OFF_BUILD%"}}
set "UV_PYTHON_DOWNLOADS_JSON_URL=%PYJSON%"
set "PYOFFLINE=1"
set "OFFLINE_BAD="
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

:put_conf
rem Write ThiDua's keys into CONF without overwriting what the user wrote there. xlwings.bas reads
rem "key","value" lines and takes the first line with the key. A file whose first line is ours
rem ("ThiDua_tep") is ThiDua's own and is written anew; in another file our lines are appended after a
rem "ThiDua_them" line, once, and only if the file sets no interpreter of its own (then it is left alone).
if not exist "%CONF%" goto :conf_new
find "ThiDua_tep" "%CONF%" >nul 2>&1
if not errorlevel 1 goto :conf_new
find "ThiDua_them" "%CONF%" >nul 2>&1
if not errorlevel 1 goto :conf_appended
set "OWN="
find "nterpreter_Win" "%CONF%" >nul 2>&1
if not errorlevel 1 set "OWN=1"
find "NTERPRETER_WIN" "%CONF%" >nul 2>&1
if not errorlevel 1 set "OWN=1"
find "nterpreter_win" "%CONF%" >nul 2>&1
if not errorlevel 1 set "OWN=1"
if defined OWN goto :conf_theirs
>> "%CONF%" echo.
>> "%CONF%" echo "ThiDua_them","cac dong duoi day do cai-dat.bat cua ThiDua %VERSION% them vao"
call :conf_lines
set "MSG=Đã thêm đường dẫn Python của ThiDua vào cuối %CONF_SHOWN% (các dòng sẵn có giữ nguyên)."
call :say
exit /b 0
:conf_new
> "%CONF%" echo "ThiDua_tep","tep nay do cai-dat.bat cua ThiDua %VERSION% ghi; chay lai cai-dat.bat se ghi lai"
call :conf_lines
exit /b 0
:conf_appended
find "%VENV%\Scripts\pythonw.exe" "%CONF%" >nul 2>&1
if not errorlevel 1 exit /b 0
set "MSG=BỎ QUA: %CONF_SHOWN% có các dòng ThiDua của lần cài trước, trỏ tới Python khác. Sửa dòng Interpreter_Win sau dòng ThiDua_them thành %VENV%\Scripts\pythonw.exe (hoặc chép thư mục ThiDua sang C:\ThiDua rồi chạy lại cai-dat.bat)."
call :skip
exit /b 0
:conf_theirs
set "MSG=BỎ QUA: không sửa %CONF_SHOWN%: tệp đã có đường dẫn Python (Interpreter_Win) riêng, dùng cho các sổ xlwings khác. Nếu Excel báo không tìm thấy Python khi bấm nút ThiDua: chép thư mục ThiDua sang C:\ThiDua rồi chạy lại cai-dat.bat ở đó."
call :skip
exit /b 0

:conf_lines
rem xlwings.bas GetConfigFromFile reads "key","value" lines; the values here are ASCII-only paths.
>> "%CONF%" echo "Interpreter_Win","%VENV%\Scripts\pythonw.exe"
>> "%CONF%" echo "TEMP DIR","%XLTEMP%"
exit /b 0

:user_conf
rem Excel may not read the file beside the workbook here: also the user's own xlwings.conf, merged.
set "P=%USERPROFILE%"
call :check_plain
if defined BAD goto :user_conf_letters
if not exist "%USERPROFILE%\.xlwings\" mkdir "%USERPROFILE%\.xlwings"
set "CONF=%USERPROFILE%\.xlwings\xlwings.conf"
set "CONF_SHOWN=tệp cấu hình xlwings của người dùng %USERPROFILE%\.xlwings\xlwings.conf"
call :put_conf
exit /b 0
:user_conf_letters
set "MSG=BỎ QUA: không ghi cấu hình xlwings của người dùng: tên thư mục người dùng có chữ có dấu hoặc ký tự đặc biệt, Excel (xlwings) không đọc được tệp ở đó. Chép thư mục ThiDua sang một thư mục không dấu ngoài OneDrive, ví dụ C:\ThiDua, rồi chạy lại cai-dat.bat ở đó."
call :skip
exit /b 0

:warn_unblock
set "MSG=BỎ QUA: không bỏ được dấu «tải từ Internet» tự động. Nếu Excel báo chặn macro: chuột phải ThiDua2019.xlsm, chọn Properties / Thuộc tính, đánh dấu «Unblock» / «Bỏ chặn», bấm OK."
call :skip
exit /b 0
