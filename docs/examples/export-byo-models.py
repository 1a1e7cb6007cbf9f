"""
The three models of docs/models.md's walk-through, exported from PyTorch with their samples:
wine.onnx (a tabular classifier) with wine.csv, colors.onnx (an image classifier) with images/,
vad.onnx (a tensor model with a scalar input, like Silero VAD) with vad.jsonl.
Needs Debian's python3-torch, python3-onnx, python3-sklearn and python3-pil. Run it in an empty
folder: /usr/bin/python3 export-byo-models.py
"""
import torch, numpy as np, os, json, csv
from sklearn.datasets import load_wine
from PIL import Image, ImageDraw
torch.manual_seed(0); np.random.seed(0)

# 1. tabular classifier: wine, 13 features, 3 classes, MLP with softmax
d = load_wine()
X = d.data.astype(np.float32); y = d.target
mu, sd = X.mean(0), X.std(0)
class Wine(torch.nn.Module):
    def __init__(s):
        super().__init__(); s.mu=torch.tensor(mu); s.sd=torch.tensor(sd)
        s.net=torch.nn.Sequential(torch.nn.Linear(13,16), torch.nn.ReLU(), torch.nn.Linear(16,3))
    def forward(s, x): return torch.softmax(s.net((x-s.mu)/s.sd), dim=1)
m = Wine(); opt = torch.optim.Adam(m.parameters(), 0.01)
Xt = torch.tensor(X); yt = torch.tensor(y)
for _ in range(300):
    opt.zero_grad(); loss = torch.nn.functional.nll_loss(torch.log(m(Xt)+1e-9), yt); loss.backward(); opt.step()
print('wine acc', (m(Xt).argmax(1)==yt).float().mean().item())
torch.onnx.export(m, Xt[:1], 'wine.onnx', input_names=['float_input'], output_names=['probabilities'],
  dynamic_axes={'float_input':{0:'N'}, 'probabilities':{0:'N'}}, opset_version=13)
names = [n.replace('/', '_') for n in d.feature_names]
with open('wine.csv','w',newline='') as f:
    w = csv.writer(f); w.writerow(['wine_id'] + names + ['cultivar'])
    for i,(row,t) in enumerate(zip(X,y)): w.writerow([f'w{i}'] + [float(f'{v:.4g}') for v in row] + [d.target_names[t]])
open('wine-labels.txt','w').write('\n'.join(d.target_names)+'\n')

# 2. image model: tiny CNN on 32x32 RGB, softmax over 4 "colour" classes
class Colors(torch.nn.Module):
    def __init__(s):
        super().__init__()
        s.conv=torch.nn.Conv2d(3,8,3,padding=1); s.fc=torch.nn.Linear(8,4)
    def forward(s, x):
        h=torch.relu(s.conv(x)).mean(dim=(2,3)); return torch.softmax(s.fc(h), dim=1)
c = Colors()
torch.onnx.export(c, torch.rand(1,3,32,32), 'colors.onnx', input_names=['pixel_values'], output_names=['scores'],
  dynamic_axes={'pixel_values':{0:'batch'}, 'scores':{0:'batch'}}, opset_version=13)
os.makedirs('images', exist_ok=True)
rng = np.random.default_rng(1)
for i in range(24):
    im = Image.new('RGB', (int(rng.integers(20,90)), int(rng.integers(20,90))), tuple(int(v) for v in rng.integers(0,255,3)))
    dr = ImageDraw.Draw(im); dr.ellipse([2,2,15,15], fill=tuple(int(v) for v in rng.integers(0,255,3)))
    im.save(f'images/img{i:02d}.' + ('png' if i%2 else 'jpg'))
open('colors-labels.txt','w').write('red\ngreen\nblue\nother\n')

# 3. tensor model with a scalar input (like Silero VAD's sr)
class Vad(torch.nn.Module):
    def __init__(s):
        super().__init__(); s.w=torch.nn.Linear(64,1)
    def forward(s, x, sr):
        frames = x.reshape(x.shape[0], -1, 64)
        energy = s.w(frames).squeeze(-1) * (sr.float()/16000.0)
        return torch.sigmoid(energy)
v = Vad()
torch.onnx.export(v, (torch.rand(1,512), torch.tensor(16000, dtype=torch.int64)), 'vad.onnx',
  input_names=['input','sr'], output_names=['speech_prob'],
  dynamic_axes={'input':{0:'batch',1:'samples'}, 'speech_prob':{0:'batch',1:'frames'}}, opset_version=13)
with open('vad.jsonl','w') as f:
    for i in range(200):
        f.write(json.dumps({'input':[round(float(v),4) for v in rng.normal(0,0.3,512)], 'sr':16000})+'\n')
print('ok')
