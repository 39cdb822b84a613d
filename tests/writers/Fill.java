// Write a filled ThiDua template as .xls (BIFF8) with Apache POI's HSSF (Debian's libapache-poi-java), as Java
// web tools and office software "export to Excel 97-2003": a new workbook built from the data, sheet by sheet.
// (Debian's POI cannot read or write .xlsx: its OOXML schemas were built for another XMLBeans.)
//   java -cp <POI jars> Fill.java BOOK.tsv DST.xls        (run with TZ=Asia/Ho_Chi_Minh)
// BOOK.tsv, UTF-8, one item a line, in order:
//   sheet TAB name TAB visible|hidden|veryhidden        a new sheet; the cells below are its own
//   cell TAB A1 TAB kind TAB value [TAB number format]   kind: s text, n number, b boolean (true/false),
//        p a percentage typed as 92.5% (value: the fraction, shown with the format, default 0.0%),
//        d a date typed into a date picker (value yyyy-mm-dd: local midnight; format default dd/mm/yyyy)
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;
import org.apache.poi.hssf.usermodel.HSSFWorkbook;
import org.apache.poi.ss.usermodel.*;
import org.apache.poi.ss.util.CellReference;

public class Fill {
    public static void main(String[] args) throws Exception {
        HSSFWorkbook wb = new HSSFWorkbook();
        DataFormat formats = wb.createDataFormat();
        Map<String, CellStyle> styles = new HashMap<>();
        Sheet sheet = null;
        for (String line : Files.readAllLines(Paths.get(args[0]), StandardCharsets.UTF_8)) {
            if (line.isEmpty()) continue;
            String[] f = line.split("\t", -1);
            if (f[0].equals("sheet")) {
                sheet = wb.createSheet(f[1]);
                int i = wb.getSheetIndex(sheet);
                if (f[2].equals("veryhidden")) wb.setSheetVisibility(i, SheetVisibility.VERY_HIDDEN);
                else if (f[2].equals("hidden")) wb.setSheetVisibility(i, SheetVisibility.HIDDEN);
                continue;
            }
            CellReference ref = new CellReference(f[1]);
            Row row = sheet.getRow(ref.getRow()) != null ? sheet.getRow(ref.getRow()) : sheet.createRow(ref.getRow());
            Cell cell = row.getCell(ref.getCol()) != null ? row.getCell(ref.getCol()) : row.createCell(ref.getCol());
            String format = f.length > 4 ? f[4] : "";
            switch (f[2]) {
                case "s": cell.setCellValue(f[3].replace("\\n", "\n").replace("\\t", "\t")); break;
                case "n": cell.setCellValue(Double.parseDouble(f[3])); break;
                case "b": cell.setCellValue(Boolean.parseBoolean(f[3])); break;
                case "p": cell.setCellValue(Double.parseDouble(f[3])); if (format.isEmpty()) format = "0.0%"; break;
                case "d":
                    String[] ymd = f[3].split("-");
                    cell.setCellValue(new GregorianCalendar(Integer.parseInt(ymd[0]), Integer.parseInt(ymd[1]) - 1,
                                                            Integer.parseInt(ymd[2])).getTime());
                    if (format.isEmpty()) format = "dd/mm/yyyy";
                    break;
                default: throw new IllegalArgumentException("kind " + f[2]);
            }
            if (!format.isEmpty() && !format.equals("General")) {
                final String k = format;
                cell.setCellStyle(styles.computeIfAbsent(k, x -> {
                    CellStyle s = wb.createCellStyle();
                    s.setDataFormat(formats.getFormat(x));
                    return s;
                }));
            }
        }
        try (OutputStream out = new FileOutputStream(args[1])) { wb.write(out); }
    }
}
