@echo off
rem ThiDua set-up on Windows: a virtual environment beside the workbook, the pinned packages,
rem and xlwings.conf (Interpreter_Win, PYTHONPATH) beside ThiDua2019.xlsm. Safe to run again.
chcp 65001 >nul
setlocal
set "HERE=%~dp0"
if "%HERE:~-1%"=="\" set "HERE=%HERE:~0,-1%"
for %%I in ("%HERE%\..") do set "ROOT=%%~fI"
set "VENV=%HERE%\.venv"

echo ============================================================
echo  CÀI ĐẶT THIDUA CHO SỔ LÀM VIỆC ThiDua2019.xlsm
echo ============================================================
echo Thư mục sổ làm việc: %HERE%
echo Thư mục dự án:       %ROOT%
echo.

set "PY="
where py >nul 2>nul && set "PY=py -3"
if not defined PY (where python >nul 2>nul && set "PY=python")
if not defined PY (
    echo [LỖI] Máy chưa có Python.
    echo Hãy cài Python 3.11 từ https://www.python.org/downloads/windows/
    echo và đánh dấu ô "Add python.exe to PATH" khi cài, rồi chạy lại tệp này.
    goto :fail
)

if not exist "%VENV%\Scripts\python.exe" (
    echo [1/4] Đang tạo môi trường Python riêng trong %VENV% ...
    %PY% -m venv "%VENV%" || goto :fail
) else (
    echo [1/4] Đã có môi trường Python riêng: %VENV%
)

echo [2/4] Đang cài các thư viện (cần mạng Internet, có thể mất vài phút) ...
"%VENV%\Scripts\python.exe" -m pip install --upgrade pip >nul
"%VENV%\Scripts\python.exe" -m pip install -r "%ROOT%\requirements.txt" || goto :fail
"%VENV%\Scripts\python.exe" -m pip install --no-deps -e "%ROOT%" || goto :fail

echo [3/4] Đang ghi tệp cấu hình %HERE%\xlwings.conf ...
> "%HERE%\xlwings.conf" echo "Interpreter_Win","%VENV%\Scripts\pythonw.exe"
>> "%HERE%\xlwings.conf" echo "PYTHONPATH","%ROOT%\python"

echo [4/4] Đang bỏ chặn tệp tải từ Internet (để Excel cho chạy macro) ...
powershell -NoProfile -Command "Get-ChildItem -LiteralPath '%HERE%' -Filter *.xlsm | Unblock-File" 2>nul

"%VENV%\Scripts\python.exe" -c "import thidua.excel, xlwings; print('Kiểm tra: ThiDua đã sẵn sàng, xlwings', xlwings.__version__)" || goto :fail
echo.
echo XONG. Mở ThiDua2019.xlsm, bấm "Enable Content" / "Bật nội dung" khi Excel hỏi,
echo rồi dùng các nút ở trang "Hướng dẫn".
pause
exit /b 0

:fail
echo.
echo [LỖI] Cài đặt chưa xong. Chụp màn hình cửa sổ này gửi cho người hỗ trợ kỹ thuật.
pause
exit /b 1
