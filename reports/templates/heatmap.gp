# {{TITLE}}: {{WHAT}}.
# Written by `attnlab report`; restyle freely and rerun in this folder: gnuplot {{NAME}}.gp
# Data: {{NAME}}.dat, {{DATA}}.
set title "{{TITLE}}"
set xlabel "{{XLABEL}}"
set ylabel "{{YLABEL}}"
set cblabel "{{CBLABEL}}"
set cbrange [0:1]
set palette defined (0 "#440154", 0.25 "#3b528b", 0.5 "#21918c", 0.75 "#5ec962", 1 "#fde725")
set xrange [-0.5:{{COLS}}-0.5]
set yrange [-0.5:{{ROWS}}-0.5]
set xtics {{XTICS}}
set ytics {{YTICS}}
set tics out nomirror
set size ratio -1
set terminal pngcairo size 1000,{{HEIGHT}} font "Sans,13" noenhanced
set output "{{NAME}}.png"
plot "{{NAME}}.dat" matrix with image notitle{{LABELS}}
set terminal pdfcairo size 6in,{{HEIGHT_IN}}in font "Sans,10" noenhanced
set output "{{NAME}}.pdf"
replot
unset output
