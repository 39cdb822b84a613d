Attribute VB_Name = "ThiDua"
' The buttons of the master workbook. Each button calls one Python entry point in thidua/excel.py;
' the pickers only fill a cell on the home sheet. No other logic lives here.
' No message boxes: VBA's MsgBox goes through the ANSI code page and would turn Vietnamese letters
' into "?", so every message goes into the status cell ThiDua_TrangThai (a Unicode cell).
Option Explicit

Private Function ControlCell(ByVal cellName As String) As Object
    Set ControlCell = ThisWorkbook.Names(cellName).RefersToRange
End Function

Public Sub TaoBieuMau()
    RunPython "import thidua.excel; thidua.excel.create_templates()"
End Sub

Public Sub ChonTep()
    Dim dlg As Object, i As Long, picked As String
    Set dlg = Application.FileDialog(3)
    dlg.AllowMultiSelect = True
    dlg.Title = "Chọn các tệp báo cáo cần kiểm tra"
    If dlg.Show <> -1 Then Exit Sub
    For i = 1 To dlg.SelectedItems.Count
        If i > 1 Then picked = picked & vbLf
        picked = picked & dlg.SelectedItems(i)
    Next i
    ControlCell("ThiDua_Tep").Value = picked
End Sub

Public Sub KiemTraTep()
    If Len(ControlCell("ThiDua_Tep").Value) = 0 Then ChonTep
    If Len(ControlCell("ThiDua_Tep").Value) = 0 Then
        ControlCell("ThiDua_TrangThai").Value = "Chưa chọn tệp nào để kiểm tra. Bấm «Chọn tệp...» rồi bấm lại."
        Exit Sub
    End If
    RunPython "import thidua.excel; thidua.excel.validate_files()"
End Sub

Public Sub ChonThuMuc()
    Dim dlg As Object
    Set dlg = Application.FileDialog(4)
    dlg.Title = "Chọn thư mục hộp thư (các tệp đơn vị gửi về)"
    If dlg.Show <> -1 Then Exit Sub
    ControlCell("ThiDua_HopThu").Value = dlg.SelectedItems(1)
End Sub

Public Sub NhanThu()
    RunPython "import thidua.excel; thidua.excel.fetch_mail()"
End Sub

Public Sub GuiThu()
    RunPython "import thidua.excel; thidua.excel.send_mail()"
End Sub

Public Sub TongHop()
    RunPython "import thidua.excel; thidua.excel.consolidate_inbox()"
End Sub

Public Sub TheoDoi()
    RunPython "import thidua.excel; thidua.excel.track_and_remind()"
End Sub

Public Sub XepLoai()
    RunPython "import thidua.excel; thidua.excel.score_units()"
End Sub

Public Sub SoanKhenThuong()
    RunPython "import thidua.excel; thidua.excel.award_papers()"
End Sub

Public Sub TongKet()
    RunPython "import thidua.excel; thidua.excel.year_summary()"
End Sub

Public Sub XuatBan()
    RunPython "import thidua.excel; thidua.excel.export_committee()"
End Sub

Public Sub NamMoi()
    RunPython "import thidua.excel; thidua.excel.new_year()"
End Sub

Public Sub SaoLuu()
    RunPython "import thidua.excel; thidua.excel.backup_data()"
End Sub

Public Sub KhoiPhuc()
    Dim dlg As Object
    If Len(ControlCell("ThiDua_SaoLuu").Value) = 0 Then
        Set dlg = Application.FileDialog(3)
        dlg.AllowMultiSelect = False
        dlg.Title = "Chọn bản sao lưu thidua-sao-luu-....zip cần khôi phục"
        dlg.Filters.Clear
        dlg.Filters.Add "Bản sao lưu ThiDua", "*.zip"
        If dlg.Show <> -1 Then Exit Sub
        ControlCell("ThiDua_SaoLuu").Value = dlg.SelectedItems(1)
    End If
    RunPython "import thidua.excel; thidua.excel.restore_data()"
End Sub
