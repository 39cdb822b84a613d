Attribute VB_Name = "ThiDuaHam"
' Worksheet functions (UDFs): wrappers in the form xlwings' ImportPythonUDFs writes for thidua.excel.
#Const App = "Microsoft Excel" 'Adjust when using outside of Excel
Option Explicit

Function THIDUA_XEPLOAI(diem, Optional bo_quy_tac)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        THIDUA_XEPLOAI = XLPy.CallUDF("thidua.excel", "THIDUA_XEPLOAI", Array(diem, bo_quy_tac, Nothing), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        THIDUA_XEPLOAI = XLPy.CallUDF("thidua.excel", "THIDUA_XEPLOAI", Array(diem, bo_quy_tac, Nothing))
        Exit Function
    #End If
failed:
    THIDUA_XEPLOAI = Err.Description
End Function

Function THIDUA_DUNGHAN(ky)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        THIDUA_DUNGHAN = XLPy.CallUDF("thidua.excel", "THIDUA_DUNGHAN", Array(ky, Nothing), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        THIDUA_DUNGHAN = XLPy.CallUDF("thidua.excel", "THIDUA_DUNGHAN", Array(ky, Nothing))
        Exit Function
    #End If
failed:
    THIDUA_DUNGHAN = Err.Description
End Function
